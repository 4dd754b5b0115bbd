from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from apps.accounts.api.serializers import LogoutInput, TokenObtainInput, TokenPairOutput
from apps.accounts.services import refresh_token_blacklist
from apps.core.openapi import unauthorized_response


class TokenObtainView(jwt_views.TokenObtainPairView):
    @extend_schema(
        operation_id="auth_token_obtain",
        tags=["auth"],
        request=TokenObtainInput,
        responses={200: TokenPairOutput, 401: unauthorized_response("no_active_account")},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Rotates the refresh token; the one sent is blacklisted and cannot be used again."""

    @extend_schema(
        operation_id="auth_token_refresh",
        tags=["auth"],
        request=TokenRefreshSerializer,
        responses={200: TokenPairOutput, 401: unauthorized_response("token_not_valid")},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_logout", tags=["auth"], request=LogoutInput, responses={204: None})
    def post(self, request):
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        refresh_token_blacklist(user=request.user, refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)
