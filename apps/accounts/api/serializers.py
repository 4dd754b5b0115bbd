from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer


class TokenObtainInput(TokenObtainPairSerializer):
    """``{email, password}`` → ``{access, refresh}``; email matching ignores case."""

    def validate(self, attrs):
        attrs[self.username_field] = attrs[self.username_field].strip().lower()
        return super().validate(attrs)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField()
