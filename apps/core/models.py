import uuid

from django.conf import settings
from django.db import models
from django.db.models import Value


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class TimeStampedModel(UUIDModel):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyKey(UUIDModel):
    """The first successful response to a POST carrying an ``Idempotency-Key`` header.

    Written in the same transaction as the write it describes, so a replay can never
    describe a write that was rolled back.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="core_idempotency_user_key_uniq"),
        ]
        # The retention purge walks expired keys oldest first, in (created_at, id) order.
        indexes = [models.Index(fields=["created_at", "id"], name="core_idemkey_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class OutboxEvent(UUIDModel):
    """An event to hand to a consumer through the broker, written with the change it describes.

    ``dispatched_at`` is set when the broker accepted the message (``attempts`` counts those
    sends), ``confirmed_at`` when the consumer reported it processed. The dispatcher sends again
    what is undispatched, or dispatched but unconfirmed for too long; consumers are idempotent,
    so a resend is harmless. ``dead_at``: sent ``OUTBOX_MAX_ATTEMPTS`` times and never
    confirmed; left alone until staff replay it.
    """

    type = models.CharField(max_length=100)
    version = models.PositiveSmallIntegerField(default=1)
    occurred_at = models.DateTimeField()
    data = models.JSONField()
    task_name = models.CharField(max_length=200)
    queue = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The request that published it (X-Request-ID), carried in the envelope so the consumer's
    # log lines about this event carry it too; empty when published outside a request.
    request_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The W3C trace context of the transaction that wrote the event ({"traceparent",
    # "tracestate"}; empty when tracing is off): the consumer continues that trace.
    # db_default: rows written by a release that predates the column still get {}.
    trace = models.JSONField(default=dict, blank=True, db_default=Value({}, output_field=models.JSONField()))

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(confirmed_at__isnull=True),
                name="core_outbox_unconfirmed_idx",
            ),
            # The retention purges: confirmed rows by confirmation time, dead ones (few) by the
            # time they died.
            models.Index(
                fields=["confirmed_at", "id"],
                condition=models.Q(confirmed_at__isnull=False),
                name="core_outbox_confirmed_idx",
            ),
            models.Index(
                fields=["dead_at", "id"],
                condition=models.Q(confirmed_at__isnull=True, dead_at__isnull=False),
                name="core_outbox_dead_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.pk}"

    @property
    def envelope(self) -> dict:
        envelope = {
            "id": str(self.pk),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }
        # Optional (events published outside a request, and by older publishers, have none).
        if self.request_id:
            envelope["request_id"] = self.request_id
        if self.trace:
            # Optional, apart from the event's data: consumers that do not trace ignore it.
            envelope["trace"] = self.trace
        return envelope
