from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from apps.core.serializers import JSONInput


class TokenObtainInput(JSONInput, TokenObtainPairSerializer):
    """``{email, password}`` → ``{access, refresh}``; email matching ignores case."""

    def validate(self, attrs):
        attrs[self.username_field] = attrs[self.username_field].strip().lower()
        return super().validate(attrs)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutInput(JSONInput):
    refresh = serializers.CharField()
