from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.accounts.emails import CONFUSABLE_CODE, CONFUSABLE_MESSAGE, INVALID_CODE, INVALID_MESSAGE, email_normalize


class EmailAddressField(serializers.EmailField):
    """An email address, normalised as every address is (``apps.accounts.emails``): the value
    the view gets is the stored form; ``invalid`` or ``email_confusable`` otherwise."""

    default_error_messages = {INVALID_CODE: INVALID_MESSAGE, CONFUSABLE_CODE: CONFUSABLE_MESSAGE}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return email_normalize(value)
        except DjangoValidationError as exc:
            self.fail(exc.code if exc.code in self.error_messages else INVALID_CODE)


def locale_field(**kwargs) -> serializers.ChoiceField:
    """The language of the user's notices: one of ``settings.LANGUAGES`` (400 ``invalid_choice``)."""
    return serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        help_text="The language of the user's emails, inbox items, digests and webhook texts.",
        **kwargs,
    )
