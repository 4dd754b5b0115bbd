"""A user's data export: asked for at ``accounts/me/export/``, downloaded from the mailed link."""

from uuid import UUID

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from apps.accounts.exports import ExportLinkExpired, ExportTooSoon, data_export_download, data_export_request
from apps.core.api.base import APIView
from apps.core.openapi import raises


class DataExportOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    requested_at = serializers.DateTimeField()


class DataExportRequestView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="accounts_me_export_create",
        summary="Export my data",
        description=(
            "Queues a JSON archive of everything stored about the caller: the account, customer and provider "
            "profiles, ratings written, replies, helpful votes, reports, inbox, deliveries, devices (without push "
            "tokens), webhook endpoints (without secrets) and notification preferences. A worker builds it and "
            "emails the account's address a download link valid for `ACCOUNT_EXPORT_LINK_TTL` (7 days by "
            "default). Answers 202 `{id, status: pending, requested_at}`. One export per "
            "`ACCOUNT_EXPORT_INTERVAL` (a day by default): another request before then is 429 `export_too_soon`, "
            "whose detail and `Retry-After` say when the next is possible."
        ),
        tags=["auth"],
        request=None,
        responses={202: DataExportOutput},
    )
    @raises(ExportTooSoon)
    def post(self, request):
        try:
            export = data_export_request(user=request.user)
        except ExportTooSoon as exc:
            response = self.handle_exception(exc)
            seconds = max(1, int((exc.available_at - timezone.now()).total_seconds()) + 1)
            response["Retry-After"] = str(seconds)
            return response
        return Response(DataExportOutput(export).data, status=status.HTTP_202_ACCEPTED)


class DataExportDownloadView(APIView):
    # The link is the credential (a signed token, mailed to the owner): opened from an email, it
    # carries no sign-in.
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="accounts_exports_download",
        summary="Download a data export",
        description=(
            "The link mailed when an export is built: the archive as a JSON attachment "
            "(`{format, generated_at, account, …sections}`). A wrong token is 404; once `ACCOUNT_EXPORT_LINK_TTL` "
            "has passed it is 410 `export_link_expired`."
        ),
        tags=["auth"],
        parameters=[OpenApiParameter("token", str, required=True, description="The signed token from the email.")],
        responses={200: OpenApiResponse(description="The archive (JSON).")},
    )
    @raises(ExportLinkExpired)
    def get(self, request, export_id: UUID):
        export = data_export_download(export_id=export_id, token=request.query_params.get("token", ""))
        return Response(
            export.archive,
            headers={
                "Content-Disposition": f'attachment; filename="marketplace-ratings-export-{export.pk}.json"',
                "Cache-Control": "private, no-store",
            },
        )
