from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse429Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from apps.accounts.api.serializers import (
    AcceptedOutput,
    EmailVerifiedOutput,
    EmailVerifyInput,
    LogoutInput,
    PasswordChangeInput,
    PasswordResetConfirmInput,
    PasswordResetInput,
    TokenObtainInput,
    TokenPairOutput,
)
from apps.accounts.api.throttling import (
    AccountEmailIPThrottle,
    AccountEmailThrottle,
    LoginAccountThrottle,
    LoginIPThrottle,
    LoginThrottleMixin,
    PasswordChangeThrottle,
)
from apps.accounts.services import (
    PASSWORD_ERROR_CODES,
    ExpiredLink,
    InvalidLink,
    InvalidRefreshToken,
    WrongPassword,
    email_verification_resend,
    email_verify_confirm,
    password_change,
    password_reset_confirm,
    password_reset_request,
    refresh_token_blacklist,
)
from apps.core.api.base import APIView, MethodFirstMixin
from apps.core.openapi import conflict_response, raises, unauthorized_response


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


@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="new_password", methods=["post"])
class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, PasswordChangeThrottle]

    @extend_schema(
        operation_id="auth_password_change",
        summary="Change the password",
        description=(
            "Sets a new password after checking the current one (400 `wrong_password`); the new one must "
            "pass the password rules (400 `password_too_*` on `new_password`). On success every refresh "
            "token of the user is revoked, the one of this session included, and the response carries a "
            "fresh access and refresh pair to go on with. Access tokens already issued stay valid until "
            "they expire. Attempts are limited per user (THROTTLE_PASSWORD_CHANGE, default 5/min), right "
            "or wrong."
        ),
        tags=["auth"],
        request=PasswordChangeInput,
        responses={200: TokenPairOutput},
    )
    @raises(WrongPassword)
    def post(self, request):
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = password_change(user=request.user, **data.validated_data)
        return Response(TokenPairOutput(pair).data)


RESET_ACCEPTED = "If an account has this email address, a password reset link is on its way."


class PasswordResetView(APIView):
    # No authentication: a stale Authorization header must not turn this into a 401.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, AccountEmailThrottle, AccountEmailIPThrottle]

    @extend_schema(
        operation_id="auth_password_reset",
        summary="Ask for a password reset email",
        description=(
            "Emails a single-use password reset link to the account with this address (any letter case). "
            "The answer is the same 202 whether or not such an account exists, so the endpoint does not "
            "tell which addresses have accounts. The email is sent by the notification delivery engine "
            "after the request, never during it. The link carries `uid` and `token` for "
            "`POST /api/v1/auth/password/reset/confirm/`; it expires after PASSWORD_RESET_TIMEOUT seconds "
            "(default 3600) and dies once the password changes. Limited per address "
            "(THROTTLE_ACCOUNT_EMAIL, default 3/hour, from any IP) and per client IP "
            "(THROTTLE_ACCOUNT_EMAIL_IP, default 20/hour), whether or not the address has an account."
        ),
        tags=["auth"],
        request=PasswordResetInput,
        responses={202: AcceptedOutput},
        auth=[],
    )
    def post(self, request):
        data = PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(email=data.validated_data["email"])
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="new_password", methods=["post"])
class PasswordResetConfirmView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        summary="Set a new password from a reset email",
        description=(
            "Sets the password of the account the reset email was sent to, from the email's `uid` and "
            "`token`. A token already used (the password changed since it was made), forged or for "
            "another account is 400 `link_invalid`; one older than PASSWORD_RESET_TIMEOUT is 400 "
            "`link_expired`; the new password must pass the password rules. On success every refresh "
            "token of the user is revoked and the address counts as verified; sign in again with the "
            "new password."
        ),
        tags=["auth"],
        request=PasswordResetConfirmInput,
        responses={204: None},
        auth=[],
    )
    @raises(InvalidLink, ExpiredLink)
    def post(self, request):
        data = PasswordResetConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_email_verify",
        summary="Confirm an email address",
        description=(
            "Marks the account's address verified from the `uid` and `token` of a verification email "
            "(sent after registration, and on request). Idempotent: confirming an address that is "
            "verified already answers the same 200 with the first confirmation's time. A forged token, "
            "or one sent to an address the account no longer has, is 400 `link_invalid`; one older than "
            "ACCOUNT_EMAIL_VERIFY_TIMEOUT (default 7 days) is 400 `link_expired`."
        ),
        tags=["auth"],
        request=EmailVerifyInput,
        responses={200: EmailVerifiedOutput},
        auth=[],
    )
    @raises(InvalidLink, ExpiredLink)
    def post(self, request):
        data = EmailVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = email_verify_confirm(**data.validated_data)
        return Response(EmailVerifiedOutput(user).data)


class EmailVerifyResendView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, AccountEmailThrottle, AccountEmailIPThrottle]

    @extend_schema(
        operation_id="auth_email_verify_resend",
        summary="Send the verification email again",
        description=(
            "Sends a new verification email to the signed-in user's address (through the notification "
            "delivery engine, after the request). An address verified already is 409 "
            "`email_already_verified`. Limited per address (THROTTLE_ACCOUNT_EMAIL, default 3/hour) and "
            "per client IP (THROTTLE_ACCOUNT_EMAIL_IP, default 20/hour)."
        ),
        tags=["auth"],
        request=None,
        responses={202: AcceptedOutput, 409: conflict_response("email_already_verified")},
    )
    def post(self, request):
        email_verification_resend(user=request.user)
        return Response({"detail": "A verification email is on its way."}, status=status.HTTP_202_ACCEPTED)
