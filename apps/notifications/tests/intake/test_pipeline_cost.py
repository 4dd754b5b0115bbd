"""What a batch of ratings costs the pipeline, counted end to end: SQL statements, Celery
messages and Redis round trips from the outbox to every channel (inbox, email, webhook).

The fixed costs (a claim, a Celery message, a transaction, a session, the outcome's record)
are paid per batch: the counts for a batch of many ratings are those of a batch of a few, so
the cost per rating falls as the batch grows. Real PostgreSQL, a real SMTP server and a real
HTTP receiver on loopback; only the broker is replaced by a recorder (the messages are run in
this process, in the order they were sent).
"""

import uuid
from collections import Counter

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_dispatch, publish
from apps.notifications.models import Delivery, DeliveryAttempt, DeliveryProvider, DeliveryStatus, Notification
from apps.notifications.services import webhook_create
from apps.notifications.tasks import deliver_batch_task, ingest_events_task
from apps.notifications.tests.conftest import envelope, rating_event
from tests.system.harness import SmtpSink

# The statements counted are PostgreSQL's (the claims use SKIP LOCKED and UPDATE … FROM VALUES).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

PROVIDERS = 5


@pytest.fixture
def sink():
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(settings, sink, breaker_redis, receiver_factory):
    """Providers with email on and one webhook each on the same receiver host."""
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    settings.OUTBOUND_REQUIRE_HTTPS = False
    DeliveryProvider.objects.create(
        channel="email", name="relay", kind="smtp", endpoint=f"smtp://127.0.0.1:{sink.port}"
    )
    receiver = receiver_factory(keep_alive=True)
    recipients = [uuid.uuid4() for _ in range(PROVIDERS)]
    for recipient in recipients:
        webhook_create(recipient_id=recipient, url=receiver.url(), event_types=[])
    return recipients, receiver


class Broker:
    """Records what is sent by name; ``run`` executes it like a worker would, counting."""

    def __init__(self):
        self.messages: list[tuple[str, list]] = []

    def send_task(self, name, args=None, kwargs=None, **options):
        self.messages.append((name, list(args or [])))

    def run(self, django_capture_on_commit_callbacks) -> Counter:
        tasks = {"notifications.ingest_events": ingest_events_task, "notifications.deliver_batch": deliver_batch_task}
        ran: Counter = Counter()
        while self.messages:
            name, args = self.messages.pop(0)
            with django_capture_on_commit_callbacks(execute=True):
                tasks[name](*args)
            ran[name] += 1
        return ran


class RedisCalls:
    """Counts round trips to Redis: a command, or a pipeline sent at once."""

    def __init__(self, monkeypatch):
        self.count = 0
        execute_command = redis.Redis.execute_command
        pipeline_execute = redis.client.Pipeline.execute

        def counted_command(client, *args, **options):
            self.count += 1
            return execute_command(client, *args, **options)

        def counted_pipeline(pipe, *args, **options):
            self.count += 1
            return pipeline_execute(pipe, *args, **options)

        monkeypatch.setattr(redis.Redis, "execute_command", counted_command)
        monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)


def _publish(recipients, count: int, *, version: int) -> None:
    from django.db import transaction

    with transaction.atomic():
        for index in range(count):
            recipient = recipients[index % len(recipients)]
            if version == 1:
                data = envelope(recipient_id=recipient)["data"]
            else:
                data = rating_event("rating.created", provider_user_id=recipient, summary=None)["data"]
            publish("rating.created", data, version=version)


def _deliver(count, *, stack, django_capture_on_commit_callbacks, monkeypatch, version) -> dict:
    recipients, _ = stack
    _publish(recipients, count, version=version)
    broker = Broker()
    monkeypatch.setattr("apps.core.outbox.current_app.send_task", broker.send_task)
    monkeypatch.setattr("apps.notifications.delivery.engine.current_app.send_task", broker.send_task)
    redis_calls = RedisCalls(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        assert outbox_dispatch() == count
        messages = broker.run(django_capture_on_commit_callbacks)
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    return {"statements": statements, "messages": sum(messages.values()), "redis": redis_calls.count}


# A batch of ratings, whatever its size: the outbox claim and its mark (2); the consumer's take
# of the batch (1); ingest (11: erased subjects, the readers' languages and time zones (2),
# existing items, preferences, inbox INSERT, schedules, endpoints, devices, deliveries INSERT,
# cancellations); the confirmation (1); per task the claim, its rows, the recipients' quiet
# hours (email), the relays (email), the cancellation check and the outcome (5 for email, 4 for
# webhooks), and the endpoints' health (webhooks, 1). The healthy endpoints of one origin share
# a task (each still its own group, with its own slots and breaker), so the webhook part is one
# task here however many endpoints a batch reaches.
STATEMENTS_PER_BATCH = 16 + 5 + 5
# One ingest message, one email batch, one webhook batch for the receiver's origin.
MESSAGES_PER_BATCH = 3
# Per email task: the slot's acquire and release, the breaker read before the first send and
# its reset after it (7). Per webhook task: the origin's breaker read and reset once (4); per
# endpoint its slot's acquire and release, its own breaker's read and reset, and its answer taken
# off the origin's failure witnesses (7). Not per send.
REDIS_ROUND_TRIPS_PER_BATCH = 7 + 4 + 7 * PROVIDERS


# Version 2 is what the ratings app publishes (the intake decides the recipient); version 1,
# one event per recipient, is what may still wait in outboxes. Both cost the same.
@pytest.mark.parametrize("version", [2, 1])
def test_a_batch_costs_the_same_statements_messages_and_round_trips_whatever_its_size(
    stack, django_capture_on_commit_callbacks, monkeypatch, sink, version
):
    _, receiver = stack
    run = {
        "stack": stack,
        "django_capture_on_commit_callbacks": django_capture_on_commit_callbacks,
        "monkeypatch": monkeypatch,
        "version": version,
    }
    small = _deliver(PROVIDERS, **run)
    large = _deliver(8 * PROVIDERS, **run)

    total = 9 * PROVIDERS
    # Everything arrived, once: inbox items, emails, webhooks; no attempt log for a clean first send.
    assert Notification.objects.count() == total
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2 * total
    assert len(set(sink.message_ids)) == len(sink.message_ids) == total
    assert len(receiver.requests) == total
    assert not DeliveryAttempt.objects.exists()
    assert OutboxEvent.objects.filter(confirmed_at__isnull=True).count() == 0

    assert len(small["statements"]) == len(large["statements"]) == STATEMENTS_PER_BATCH, large["statements"]
    assert small["messages"] == large["messages"] == MESSAGES_PER_BATCH
    # The first batch also creates the breakers' keys in Redis; from then on a fixed count.
    assert large["redis"] <= small["redis"]
    assert large["redis"] == REDIS_ROUND_TRIPS_PER_BATCH
