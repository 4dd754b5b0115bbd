from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from apps.accounts.api.fields import EmailAddressField
from apps.accounts.emails import email_lookup_form
from apps.core.serializers import JSONInput


class TokenObtainInput(JSONInput, TokenObtainPairSerializer):
    """``{email, password}`` → ``{access, refresh}``; the email is matched in its normalised
    form, so letter case and compatibility forms (fullwidth letters) do not matter."""

    def validate(self, attrs):
        attrs[self.username_field] = email_lookup_form(attrs[self.username_field])
        return super().validate(attrs)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutInput(JSONInput):
    refresh = serializers.CharField()


def _password_field() -> serializers.CharField:
    return serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class PasswordChangeInput(JSONInput):
    old_password = _password_field()
    new_password = _password_field()


class PasswordResetInput(JSONInput):
    email = EmailAddressField()


CLAIM_LINK_SENT = (
    "An account was already made for this address by a marketplace you use; a link to claim it "
    "(set your password) is on its way to the address."
)


class AcceptedOutput(serializers.Serializer):
    detail = serializers.CharField()


class PasswordResetConfirmInput(JSONInput):
    uid = serializers.CharField(max_length=64, help_text="The `uid` of the reset email.")
    token = serializers.CharField(max_length=128, help_text="The `token` of the reset email.")
    new_password = _password_field()


class EmailVerifyInput(JSONInput):
    uid = serializers.CharField(max_length=64, help_text="The `uid` of the verification email.")
    token = serializers.CharField(max_length=512, help_text="The `token` of the verification email.")


class EmailVerifiedOutput(serializers.Serializer):
    email = serializers.EmailField()
    email_verified = serializers.BooleanField()
    email_verified_at = serializers.DateTimeField(allow_null=True)
