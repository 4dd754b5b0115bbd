"""Validators shared by several apps."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible


@deconstructible
class SingleLineText:
    """Refuse control characters (CR, LF, NUL, …) in a one-line value such as a person's name.

    Names travel into email headers and webhook bodies; a line break there would be a header
    injection, or a message that can never be sent.
    """

    message = "Enter a single line of text without control characters."
    code = "control_characters"

    def __call__(self, value: str) -> None:
        if any(unicodedata.category(ch) == "Cc" for ch in value or ""):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SingleLineText)


single_line_text = SingleLineText()
