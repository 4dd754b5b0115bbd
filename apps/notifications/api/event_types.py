"""The catalogue of webhook event types, with the JSON Schema of each one's payload."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.core.api.base import APIView
from apps.notifications import services
from apps.notifications.api.serializers import EventTypeOutput


class EventTypeListView(APIView):
    @extend_schema(
        operation_id="notifications_event_types_list",
        summary="List webhook event types",
        description=(
            "Every event type a webhook endpoint can subscribe to, by name, with its version, a description "
            "and the JSON Schema of the payload's `data` (every payload is `{id, type, timestamp, data}`). "
            "The schemas are generated from the notice types' builders, so they describe exactly the keys "
            "sent; a key not in `required` is left out of some payloads of the type."
        ),
        tags=["webhooks"],
        responses={200: EventTypeOutput(many=True)},
    )
    def get(self, request):
        return Response(EventTypeOutput(services.event_type_catalogue(), many=True).data)
