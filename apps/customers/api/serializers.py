from rest_framework import serializers

from apps.accounts.api.fields import EmailAddressField, locale_field
from apps.core.serializers import JSONInput
from apps.core.validators import single_line_text


class CustomerRegisterInput(JSONInput):
    email = EmailAddressField()
    password = serializers.CharField(write_only=True, min_length=8, max_length=128, style={"input_type": "password"})
    name = serializers.CharField(max_length=150, validators=[single_line_text])


class CustomerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    email_verified = serializers.BooleanField(source="user.email_verified")
    email_verified_at = serializers.DateTimeField(
        source="user.email_verified_at", allow_null=True, help_text="When the address was confirmed; null until then."
    )
    name = serializers.CharField()
    locale = locale_field(source="user.locale")
    created_at = serializers.DateTimeField()


class CustomerUpdateInput(JSONInput):
    name = serializers.CharField(max_length=150, required=False, validators=[single_line_text])
    email = EmailAddressField(required=False, help_text="A new address is unverified until its link is followed.")
    locale = locale_field(required=False)
    password = serializers.CharField(
        write_only=True,
        max_length=128,
        required=False,
        style={"input_type": "password"},
        help_text="The current password; required to change `email`.",
    )


class CustomerDeleteInput(JSONInput):
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}, help_text="The current password."
    )
