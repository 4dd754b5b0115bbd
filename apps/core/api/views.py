import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.base import APIView

logger = logging.getLogger(__name__)


class _OpsView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


_check_result = inline_serializer(
    "ReadinessOutput",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "checks": serializers.DictField(child=serializers.ChoiceField(choices=["ok", "error"])),
    },
)


class HealthzView(_OpsView):
    """Liveness: the process answers. Touches no database, cache or broker."""

    @extend_schema(
        operation_id="healthz",
        summary="Liveness",
        description=(
            "The process answers. Touches no database, cache or broker, so a dependency outage does not get "
            "the process restarted."
        ),
        tags=["ops"],
        responses={200: inline_serializer("HealthOutput", fields={"status": serializers.CharField()})},
    )
    def get(self, request):
        return Response({"status": "ok"})


def _check_database() -> str:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    return "ok"


def _check_cache() -> str:
    cache.set("readyz-probe", "1", timeout=5)
    if cache.get("readyz-probe") != "1":
        raise RuntimeError("cache did not return the probe value")
    return "ok"


def _check_broker() -> str:
    timeout = settings.CELERY_BROKER_CONNECTION_TIMEOUT
    with current_app.connection_for_write(connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
    return "ok"


READINESS_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


class ReadyzView(_OpsView):
    """Readiness: every dependency answers. 503 with each check's ``ok``/``error`` otherwise.

    The reason a check failed is logged, never put in the response: the endpoint is public and
    exception text names hosts, ports and database users.
    """

    @extend_schema(
        operation_id="readyz",
        summary="Readiness",
        description=(
            "Every dependency the process needs answers (database, cache, broker): 200, or 503 with each "
            "check's `ok` or `error` and no error text."
        ),
        tags=["ops"],
        responses={200: _check_result, 503: OpenApiResponse(_check_result)},
    )
    def get(self, request):
        checks, healthy = {}, True
        for name, check in READINESS_CHECKS.items():
            try:
                checks[name] = check()
            except Exception:  # any failure means "not ready"; the reason goes to the log
                healthy = False
                checks[name] = "error"
                logger.warning("Readiness check %s failed", name, exc_info=True)
        return Response(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
