"""The trigger API, ``POST /api/v1/notifications/triggers/``: a notice of a declared custom type.

Staff (a user's JWT) or a partner key with the ``notifications:trigger`` scope. It keeps the API's
``{type, errors}`` error shape (a ``/api/v1/`` path), as the partners' invitations do.
"""

import json

from drf_spectacular.utils import extend_schema, extend_schema_field
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.core.api.base import APIView
from apps.core.exceptions import PermissionDenied
from apps.core.openapi import unprocessable_response
from apps.core.serializers import JSONInput
from apps.notifications.custom_notices import CUSTOM_TYPE_NAMES
from apps.partners.api.authentication import PartnerKeyAuthentication, PartnerKeyThrottle
from apps.partners.models import NotificationTrigger, PartnerKey, Scope
from apps.partners.triggers import notification_trigger

# A notice's data travels in the inbox item, the email's context and each webhook body: kept small.
DATA_MAX_BYTES = 4096


class TriggerRecipientInput(JSONInput):
    user_id = serializers.UUIDField(required=False, help_text="The user told (any user staff may reach).")
    provider_id = serializers.UUIDField(required=False, help_text="Or a provider: its account is told.")

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Give exactly one of user_id and provider_id.", code="invalid")
        return attrs


class TriggerInput(JSONInput):
    type = serializers.ChoiceField(choices=list(CUSTOM_TYPE_NAMES), help_text="A declared custom type.")
    recipient = TriggerRecipientInput()
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    data = serializers.DictField(
        required=False, default=dict, help_text=f"A JSON object, at most {DATA_MAX_BYTES} bytes."
    )
    idempotency_key = serializers.CharField(max_length=255)

    def validate_data(self, value):
        if len(json.dumps(value, separators=(",", ":")).encode()) > DATA_MAX_BYTES:
            raise serializers.ValidationError(f"At most {DATA_MAX_BYTES} bytes of JSON.", code="max_length")
        return value


class TriggerRecipientOutput(serializers.Serializer):
    user_id = serializers.UUIDField()
    provider_id = serializers.UUIDField(allow_null=True)


class TriggerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    recipient = serializers.SerializerMethodField()
    title = serializers.CharField()
    body = serializers.CharField()
    data = serializers.DictField()
    idempotency_key = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(TriggerRecipientOutput)
    def get_recipient(self, trigger: NotificationTrigger) -> dict:
        return {
            "user_id": str(trigger.recipient_user_id),
            "provider_id": str(trigger.provider_id) if trigger.provider_id else None,
        }


class IsStaffOrTriggerKey(BasePermission):
    """Staff, or a partner key with the ``notifications:trigger`` scope; another user is 403."""

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, PartnerKey):
            if Scope.NOTIFICATIONS_TRIGGER not in request.auth.scopes:
                raise PermissionDenied(f"This key lacks the scope {Scope.NOTIFICATIONS_TRIGGER.value!r}.")
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        if not request.user.is_staff:
            raise PermissionDenied("Only staff or a partner key may trigger notices.")
        return True


@extend_validation_errors(["invalid_choice"], field_name="type", methods=["post"])
class NotificationTriggerView(APIView):
    """Send a notice of a declared custom type to one user."""

    authentication_classes = [PartnerKeyAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    permission_classes = [IsStaffOrTriggerKey]
    # A key is counted under its own id; staff as any signed-in user.
    throttle_classes = [PartnerKeyThrottle, *api_settings.DEFAULT_THROTTLE_CLASSES]

    @extend_schema(
        operation_id="notifications_triggers_create",
        summary="Trigger a notice of a custom type",
        description=(
            "Staff (a JWT) or a partner key with the `notifications:trigger` scope sends a notice of a declared "
            "custom type (`NOTIFICATIONS_CUSTOM_TYPES`, each named `custom.<key>`; another `type` is 400 "
            "`invalid_choice`) to one user, named by `recipient.user_id`, or to a provider's account by "
            "`recipient.provider_id`. A partner reaches only its own customers and its own or granted providers "
            "(anything else is 404, as an unknown id). The notice goes through the outbox and the notifications "
            "intake like any other: the recipient's preferences for the type (it is listed in "
            "`notifications/preferences/` and webhooks subscribe to it), its default channels, quiet hours, "
            "webhooks, and the delivery log; it is never collected into a digest. Answers 202 with the trigger. "
            "Idempotent by `idempotency_key`, per caller and for good: the same key with the same request returns "
            "the first trigger (200, `Idempotent-Replayed: true`) and tells nobody again; with a different request "
            "it is 422 `idempotency_key_reused`."
        ),
        tags=["notifications"],
        request=TriggerInput,
        responses={
            202: TriggerOutput,
            200: TriggerOutput,
            422: unprocessable_response("idempotency_key_reused"),
        },
    )
    def post(self, request):
        data = TriggerInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        partner = request.auth.partner if isinstance(request.auth, PartnerKey) else None
        trigger, created = notification_trigger(
            partner=partner,
            staff_user=None if partner is not None else request.user,
            type=values["type"],
            user_id=values["recipient"].get("user_id"),
            provider_id=values["recipient"].get("provider_id"),
            title=values["title"],
            body=values["body"],
            data=values["data"],
            idempotency_key=values["idempotency_key"],
        )
        body = TriggerOutput(trigger).data
        if created:
            return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response(body, headers={"Idempotent-Replayed": "true"})
