from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse429Serializer
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from apps.accounts.api.serializers import LogoutInput, TokenObtainInput, TokenPairOutput
from apps.accounts.api.throttling import LoginAccountThrottle, LoginIPThrottle, LoginThrottleMixin
from apps.accounts.services import InvalidRefreshToken, refresh_token_blacklist
from apps.core.api.base import APIView, MethodFirstMixin
from apps.core.openapi import raises, unauthorized_response


class TokenObtainView(MethodFirstMixin, jwt_views.TokenObtainPairView):
    """Trades an email and password for an access and refresh token pair.

    Failed sign-ins are limited per account (the email, any letter case) and per client IP;
    the limits are checked before the password is, so past them even the right one is 429.
    """

    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, LoginAccountThrottle, LoginIPThrottle]
    _throttles = None

    def get_throttles(self):
        # The same instances that counted this request in ``initial()`` are the ones that give
        # the count back after a successful sign-in.
        if self._throttles is None:
            self._throttles = super().get_throttles()
        return self._throttles

    @extend_schema(
        operation_id="auth_token_obtain",
        summary="Sign in",
        description=(
            "Trades an email and password for an access token and a refresh token. Failed sign-ins are "
            "limited per account (any letter case of the email, from any IP) and per client IP; past either "
            "limit the request is refused with 429 and `Retry-After` before the password is checked, the "
            "right one included. A successful sign-in does not count against the limits."
        ),
        tags=["auth"],
        request=TokenObtainInput,
        responses={
            200: TokenPairOutput,
            401: unauthorized_response("no_active_account"),
            429: OpenApiResponse(
                ErrorResponse429Serializer,
                description=(
                    "Throttled: too many failed sign-ins for this email (THROTTLE_LOGIN_ACCOUNT, "
                    "default 9/min, any IP) or from this client IP (THROTTLE_LOGIN_IP, default "
                    "30/min), or the anonymous rate. Refused before the password is checked, the "
                    "right password included; `Retry-After` gives the seconds to wait."
                ),
            ),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            for throttle in self.get_throttles():
                if isinstance(throttle, LoginThrottleMixin):
                    throttle.refund()
        return response


class TokenRefreshView(MethodFirstMixin, jwt_views.TokenRefreshView):
    """Rotates the refresh token; the one sent is blacklisted and cannot be used again."""

    @extend_schema(
        operation_id="auth_token_refresh",
        summary="Renew the access token",
        description=(
            "Trades a refresh token for a new access and refresh token pair. The refresh token sent is "
            "blacklisted and cannot be used again; an expired, blacklisted or malformed one is 401 "
            "`token_not_valid`."
        ),
        tags=["auth"],
        request=TokenRefreshSerializer,
        responses={200: TokenPairOutput, 401: unauthorized_response("token_not_valid")},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        summary="Sign out",
        description=(
            "Blacklists the caller's own refresh token, so it can no longer renew access tokens. Access "
            "tokens already issued stay valid until they expire. A token that is not a valid refresh token of "
            "the caller is 400 `token_not_valid`."
        ),
        tags=["auth"],
        request=LogoutInput,
        responses={204: None},
    )
    @raises(InvalidRefreshToken)
    def post(self, request):
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        refresh_token_blacklist(user=request.user, refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)
