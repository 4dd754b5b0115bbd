"""Validators shared by several apps."""

from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible


@deconstructible
class SingleLineText(RegexValidator):
    """Refuse control characters (CR, LF, NUL, …) in a one-line value such as a person's name.

    Names travel into email headers and webhook bodies; a line break there would be a header
    injection, or a message that can never be sent. The class is Unicode's Cc category
    (U+0000 to U+001F, U+007F to U+009F); as a regex it also reaches the OpenAPI document as the
    field's ``pattern``, so clients can check it before sending.
    """

    regex = r"^[^\x00-\x1f\x7f-\x9f]*$"
    message = "Enter a single line of text without control characters."
    code = "control_characters"

    def __init__(self) -> None:
        super().__init__()


single_line_text = SingleLineText()
