"""A user's data export: asked for through the API, built by the task from every app's sections
(the notifications app's part through the outbox and back), mailed as an expiring link, once a day."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from celery import current_app
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.exports import (
    ATTACH_TASK,
    BUILD_REQUESTS_TASK,
    DATA_EXPORTS_PURGE,
    data_export_attach,
    data_export_build,
    data_export_build_requests,
)
from apps.accounts.models import DataExport
from apps.core import exports as core_exports
from apps.core.exports import export_section_names
from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_dispatch
from apps.core.retention import registered_purges
from apps.notifications.models import Channel, Delivery, DeliveryStatus, Device, NotificationPreference
from apps.notifications.services import deliveries_send, events_ingest, webhook_create
from apps.ratings.models import RatingHelpfulVote, RatingReply
from conftest import auth_client
from tests.factories import CustomerFactory, DeliveryFactory, NotificationFactory, ProviderFactory, rating_make

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/me/export/"


def _z(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Broker:
    """Celery's ``send_task`` kept in order; ``run()`` delivers each message to the task of that
    name, as a worker consuming every queue would (JSON in between, as on the wire). The unit
    tests' broker (memory://) has no worker: this is the one, in the test's transaction."""

    def __init__(self):
        self.messages: list[tuple[str, list, dict, str]] = []

    def send_task(self, name, args=None, kwargs=None, queue=None, **options):
        wire = json.loads(json.dumps({"args": args or [], "kwargs": kwargs or {}}))
        self.messages.append((name, wire["args"], wire["kwargs"], queue))

    def run(self) -> list[tuple[str, str]]:
        """Deliver until nothing is left; returns (task, queue) of each message delivered."""
        delivered = []
        while self.messages:
            name, args, kwargs, queue = self.messages.pop(0)
            current_app.tasks[name].apply(args=args, kwargs=kwargs, throw=True)
            delivered.append((name, queue))
        return delivered


@pytest.fixture
def broker(monkeypatch):
    # What a worker does when it starts: the apps' task modules registered.
    current_app.loader.import_default_modules()
    broker = Broker()
    monkeypatch.setattr(current_app, "send_task", broker.send_task)
    return broker


def _build(broker: Broker, export_id) -> list[tuple[str, str]]:
    """Two rounds of the outbox dispatcher and every message they lead to: the build request,
    then the remote parts' requests and their answers (the email's event stays in the outbox)."""
    broker.messages.clear()
    delivered = []
    for _ in range(2):
        outbox_dispatch()
        delivered += broker.run()
    assert DataExport.objects.get(pk=export_id).archive is not None
    return delivered


def _ask(client, capture) -> dict:
    with capture(execute=True):
        response = client.post(URL)
    assert response.status_code == 202, response.json()
    return response.json()


def test_asking_answers_202_and_publishes_the_build_request_to_the_outbox(broker, django_capture_on_commit_callbacks):
    customer = CustomerFactory()

    body = _ask(auth_client(customer.user), django_capture_on_commit_callbacks)

    export = DataExport.objects.get()
    assert body == {"id": str(export.pk), "status": "pending", "requested_at": _z(export.requested_at)}
    # Nothing goes to the broker from the request: the outbox carries the build request.
    assert broker.messages == []
    [request] = OutboxEvent.objects.filter(type="account.export_requested")
    assert (request.task_name, request.queue, request.version, request.data) == (
        BUILD_REQUESTS_TASK,
        "default",
        1,
        {"recipient_user_id": str(customer.user.pk), "export_id": str(export.pk)},
    )
    assert outbox_dispatch() == 1
    assert [(name, queue) for name, _, _, queue in broker.messages] == [(BUILD_REQUESTS_TASK, "default")]


def test_a_broker_down_when_asked_delays_the_build_and_loses_nothing(
    broker, django_capture_on_commit_callbacks, monkeypatch
):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    with monkeypatch.context() as down:
        down.setattr(current_app, "send_task", refused)
        assert outbox_dispatch() == 0
    export.refresh_from_db()
    assert (export.status, export.archive) == ("pending", None)

    # The broker is back: the next round sends the request, and the export is built and mailed.
    _build(broker, export.pk)

    export.refresh_from_db()
    assert export.status == "ready"
    assert OutboxEvent.objects.get(type="account.export_requested").confirmed_at is not None
    assert OutboxEvent.objects.filter(type="account.export_ready").count() == 1


def test_a_build_request_delivered_twice_builds_once_and_a_stranger_is_skipped(
    broker, django_capture_on_commit_callbacks
):
    _ask(auth_client(CustomerFactory().user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    [request] = OutboxEvent.objects.filter(type="account.export_requested")
    envelope = json.loads(json.dumps(request.envelope))
    strangers = [
        {**envelope, "type": "account.deleted"},
        {**envelope, "version": 2},
        {**envelope, "data": {"export_id": 7}},
        {**envelope, "id": None},
        "not an envelope",
    ]

    assert data_export_build_requests(envelopes=[envelope, envelope, *strangers]) == 1

    export.refresh_from_db()
    request.refresh_from_db()
    assert export.archive is not None and export.parts_awaited == ["notifications"]
    assert request.confirmed_at is not None
    assert OutboxEvent.objects.filter(type="account.export_part_requested").count() == 1


def test_the_archive_of_a_new_account_has_every_section(broker, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()

    # The build request, then the notifications part: asked on its queue, answered on the default one.
    assert _build(broker, export.pk) == [
        (BUILD_REQUESTS_TASK, "default"),
        ("notifications.data_export_sections", "notifications"),
        (ATTACH_TASK, "default"),
    ]

    export.refresh_from_db()
    user = customer.user
    assert export.archive == {
        "format": "marketplace-ratings.export/1",
        "generated_at": _z(export.ready_at),
        "account": {
            "id": str(user.pk),
            "email": user.email,
            "name": user.name,
            "date_joined": _z(user.date_joined),
            "last_login": None,
            "email_verified_at": None,
            "is_staff": False,
        },
        "customer": {"id": str(customer.pk), "created_at": customer.created_at.isoformat()},
        "deliveries": [],
        "devices": [],
        "helpful_votes": [],
        "inbox": [],
        "notification_preferences": {"switches": [], "schedule": None},
        "provider": None,
        "ratings": [],
        "replies": [],
        "reports": [],
        "webhook_endpoints": [],
    }
    # Every app's registered section is in it (the registry, not a list kept here).
    assert set(export_section_names()) <= set(export.archive)
    assert export.expires_at == export.ready_at + timedelta(days=7)


def test_the_archive_holds_the_users_rows_but_no_secret(broker, django_capture_on_commit_callbacks):
    customer, provider = CustomerFactory(), ProviderFactory()
    rating = rating_make(customer=customer, provider=provider, score=4, comment="Tidy work")
    other = rating_make(customer=CustomerFactory(), provider=ProviderFactory(), score=3)
    RatingHelpfulVote.objects.create(rating=other, user=customer.user)
    user = customer.user
    NotificationFactory(recipient_id=user.pk, title="Hello")
    Device.objects.create(recipient_id=user.pk, token="push-token-secret", platform="ios")
    endpoint = webhook_create(recipient_id=user.pk, url="https://hooks.example.com/me", event_types=[])
    NotificationPreference.objects.create(
        recipient_id=user.pk, event_type="rating.replied", channel=Channel.PUSH, enabled=False
    )
    _ask(auth_client(user), django_capture_on_commit_callbacks)

    _build(broker, DataExport.objects.get().pk)

    archive = DataExport.objects.get().archive
    assert [(r["id"], r["score"], r["comment"]) for r in archive["ratings"]] == [(str(rating.pk), 4, "Tidy work")]
    assert archive["helpful_votes"] == [
        {"rating_id": str(other.pk), "created_at": RatingHelpfulVote.objects.get().created_at.isoformat()}
    ]
    assert [n["title"] for n in archive["inbox"]] == ["Hello"]
    assert [d["platform"] for d in archive["devices"]] == ["ios"]
    assert [(e["id"], e["url"]) for e in archive["webhook_endpoints"]] == [(str(endpoint.pk), endpoint.url)]
    assert archive["notification_preferences"]["switches"] == [
        {"event_type": "rating.replied", "channel": "push", "enabled": False}
    ]
    text = json.dumps(archive)
    assert endpoint.secret not in text
    assert "push-token-secret" not in text
    assert "password" not in text


def test_replies_are_the_provider_s_own(broker, django_capture_on_commit_callbacks):
    provider = ProviderFactory()
    rating = rating_make(customer=CustomerFactory(), provider=provider, score=5)
    reply = RatingReply.objects.create(rating=rating, body="Thank you")
    _ask(auth_client(provider.user), django_capture_on_commit_callbacks)

    _build(broker, DataExport.objects.get().pk)

    archive = DataExport.objects.get().archive
    assert archive["replies"] == [
        {
            "id": str(reply.pk),
            "rating_id": str(rating.pk),
            "body": "Thank you",
            "status": reply.status,
            "created_at": reply.created_at.isoformat(),
            "updated_at": reply.updated_at.isoformat(),
        }
    ]
    assert archive["provider"]["id"] == str(provider.pk)
    assert archive["customer"] is None


def test_the_email_links_to_the_archive_which_downloads_until_the_link_expires(
    broker, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    _build(broker, export.pk)
    export.refresh_from_db()

    [event] = OutboxEvent.objects.filter(type="account.export_ready")
    assert event.data["recipient_user_id"] == str(customer.user_id)
    assert event.data["expires_at"] == _z(export.expires_at)
    events_ingest(envelopes=[event.envelope])
    [email] = Delivery.objects.filter(recipient_id=customer.user_id)
    assert (email.channel, email.address) == (Channel.EMAIL, customer.user.email)
    assert deliveries_send(delivery_ids=[email.pk]) == {str(email.pk): DeliveryStatus.SENT}
    [message] = mail.outbox
    assert message.subject == "Your Marketplace Ratings data export is ready"
    link = event.data["link"]["url"]
    assert link in message.body
    # The archive has no unsubscribe link: the user asked for it.
    assert "List-Unsubscribe" not in message.extra_headers

    parts = urlsplit(link)
    download = APIClient().get(f"{parts.path}?{parts.query}")

    assert download.status_code == 200
    assert download.json() == export.archive
    assert download["Content-Disposition"] == f'attachment; filename="marketplace-ratings-export-{export.pk}.json"'
    assert download["Cache-Control"] == "private, no-store"

    with time_machine.travel(export.expires_at + timedelta(seconds=1)):
        expired = APIClient().get(f"{parts.path}?{parts.query}")
    assert expired.status_code == 410
    assert expired.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "export_link_expired",
                "detail": "This download link has expired: ask for a new export.",
                "attr": None,
            }
        ],
    }


def test_a_wrong_token_or_another_export_s_token_is_404(broker, django_capture_on_commit_callbacks):
    first, second = CustomerFactory(), CustomerFactory()
    _ask(auth_client(first.user), django_capture_on_commit_callbacks)
    _ask(auth_client(second.user), django_capture_on_commit_callbacks)
    for export in DataExport.objects.all():
        _build(broker, export.pk)
    links = {
        e.data["recipient_user_id"]: e.data["link"] for e in OutboxEvent.objects.filter(type="account.export_ready")
    }
    mine, theirs = links[str(first.user_id)], links[str(second.user_id)]

    wrong = APIClient().get(f"/api/v1/accounts/exports/{mine['uid']}/", {"token": "nope"})
    swapped = APIClient().get(f"/api/v1/accounts/exports/{mine['uid']}/", {"token": theirs["token"]})

    assert wrong.status_code == swapped.status_code == 404
    assert swapped.json()["errors"] == [{"code": "not_found", "detail": "No such export.", "attr": None}]


def test_one_export_per_day_then_429_with_when(broker, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    # Each call signs in at its time (an access token lives minutes, not hours).
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), tick=False):
        _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    with time_machine.travel(datetime(2026, 12, 7, 16, 0, tzinfo=UTC), tick=False):
        again = auth_client(customer.user).post(URL)
    assert again.status_code == 429
    assert again.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "export_too_soon",
                "detail": "One data export per day: the next can be asked for at 2026-12-08T10:00:00Z.",
                "attr": None,
            }
        ],
    }
    assert again["Retry-After"] == str(18 * 3600 + 1)
    assert DataExport.objects.count() == 1
    with time_machine.travel(datetime(2026, 12, 8, 10, 0, tzinfo=UTC), tick=False):
        _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    assert DataExport.objects.count() == 2


def test_the_build_is_idempotent_and_asks_the_notifications_part_once(broker, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()

    assert data_export_build(export_id=export.pk) is True
    assert data_export_build(export_id=export.pk) is False
    assert data_export_build(export_id="00000000-0000-0000-0000-000000000000") is False

    [request] = OutboxEvent.objects.filter(type="account.export_part_requested")
    assert (request.task_name, request.queue, request.version) == (
        "notifications.data_export_sections",
        "notifications",
        1,
    )
    assert request.data == {
        "recipient_user_id": str(customer.user_id),
        "export_id": str(export.pk),
        "part": "notifications",
        "reply_task": ATTACH_TASK,
        "reply_queue": "default",
    }
    export.refresh_from_db()
    assert (export.status, export.parts_awaited, export.ready_at) == ("pending", ["notifications"], None)
    # Built locally, the notifications sections not in yet: nothing is mailed.
    assert "inbox" not in export.archive
    assert not OutboxEvent.objects.filter(type="account.export_ready").exists()


def test_the_archive_holds_the_notification_sections_read_by_the_notifications_worker(
    broker, django_capture_on_commit_callbacks
):
    user = CustomerFactory().user
    item = NotificationFactory(recipient_id=user.pk, title="Hello", body="A new rating", data={"score": 5})
    delivery = DeliveryFactory(notification=item, address=user.email, status=DeliveryStatus.SENT, attempts=1)
    device = Device.objects.create(recipient_id=user.pk, token="push-token-secret", platform="android")
    endpoint = webhook_create(recipient_id=user.pk, url="https://hooks.example.com/me", event_types=["rating.created"])
    NotificationPreference.objects.create(
        recipient_id=user.pk, event_type="rating.created", channel=Channel.EMAIL, enabled=False
    )
    NotificationFactory(title="Someone else's")
    _ask(auth_client(user), django_capture_on_commit_callbacks)

    _build(broker, DataExport.objects.get().pk)

    export = DataExport.objects.get()
    assert (export.status, export.parts_awaited) == ("ready", [])
    archive = export.archive
    item.refresh_from_db()
    delivery.refresh_from_db()
    assert archive["inbox"] == [
        {
            "id": str(item.pk),
            "type": "rating.created",
            "title": "Hello",
            "body": "A new rating",
            "data": {"score": 5},
            "created_at": item.created_at.isoformat(),
            "read_at": None,
            "seen_at": None,
            "archived_at": None,
        }
    ]
    assert archive["deliveries"] == [
        {
            "id": str(delivery.pk),
            "notification_id": str(item.pk),
            "channel": "email",
            "address": user.email,
            "endpoint_id": None,
            "status": "sent",
            "attempts": 1,
            "created_at": delivery.created_at.isoformat(),
            "sent_at": None,
        }
    ]
    assert archive["devices"] == [
        {"id": str(device.pk), "platform": "android", "created_at": device.created_at.isoformat()}
    ]
    assert archive["webhook_endpoints"] == [
        {
            "id": str(endpoint.pk),
            "url": "https://hooks.example.com/me",
            "description": "",
            "event_types": ["rating.created"],
            "enabled": True,
            "rate_per_second": endpoint.rate_per_second,
            "header_names": [],
            "disabled_reason": "",
            "created_at": endpoint.created_at.isoformat(),
        }
    ]
    assert archive["notification_preferences"] == {
        "switches": [{"event_type": "rating.created", "channel": "email", "enabled": False}],
        "schedule": None,
    }
    # Downloaded in the documented order: the head, then every section by name (local or from a part).
    link = OutboxEvent.objects.get(type="account.export_ready").data["link"]
    download = APIClient().get(f"/api/v1/accounts/exports/{link['uid']}/", {"token": link["token"]})
    assert list(download.json()) == ["format", "generated_at", "account", *export_section_names()]
    assert download.json() == archive
    # The request is answered: the outbox never sends it again.
    [request] = OutboxEvent.objects.filter(type="account.export_part_requested")
    assert request.confirmed_at is not None


def _answer(broker: Broker) -> dict:
    """The outbox's round and the notifications worker's answer, taken off the broker undelivered."""
    outbox_dispatch()
    [(name, args, kwargs, queue)] = [m for m in broker.messages if m[0] == "notifications.data_export_sections"]
    broker.messages.clear()
    current_app.tasks[name].apply(args=args, kwargs=kwargs, throw=True)
    [(name, args, kwargs, queue)] = broker.messages
    assert (name, args, queue) == (ATTACH_TASK, [], "default")
    broker.messages.clear()
    return kwargs


def test_an_answer_attached_twice_changes_nothing_and_the_email_goes_once(broker, django_capture_on_commit_callbacks):
    user = CustomerFactory().user
    NotificationFactory(recipient_id=user.pk, title="Hello")
    _ask(auth_client(user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    data_export_build(export_id=export.pk)
    answer = _answer(broker)
    assert set(answer) == {"export_id", "part", "sections", "request_id"}
    assert (answer["export_id"], answer["part"]) == (str(export.pk), "notifications")

    assert data_export_attach(**answer) is True
    export.refresh_from_db()
    archive, ready_at = export.archive, export.ready_at
    assert data_export_attach(**answer) is False
    assert data_export_attach(**{**answer, "sections": {"inbox": ["changed"]}}) is False

    export.refresh_from_db()
    assert (export.archive, export.ready_at, export.status) == (archive, ready_at, "ready")
    assert [n["title"] for n in export.archive["inbox"]] == ["Hello"]
    assert OutboxEvent.objects.filter(type="account.export_ready").count() == 1


def test_an_answer_for_an_unknown_or_deleted_export_changes_nothing_but_is_confirmed(
    broker, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    data_export_build(export_id=export.pk)
    answer = _answer(broker)
    # The user deleted the export (or the account) while the answer was on its way.
    DataExport.objects.all().delete()
    before = set(OutboxEvent.objects.values_list("pk", flat=True))

    assert data_export_attach(**answer) is False

    assert not DataExport.objects.exists()
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == before
    assert OutboxEvent.objects.get(pk=answer["request_id"]).confirmed_at is not None
    assert broker.messages == []


def test_an_answer_for_a_part_not_awaited_changes_nothing(broker, django_capture_on_commit_callbacks):
    _ask(auth_client(CustomerFactory().user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    data_export_build(export_id=export.pk)
    export.refresh_from_db()
    archive = export.archive

    assert data_export_attach(export_id=export.pk, part="elsewhere", sections={"inbox": ["forged"]}) is False

    export.refresh_from_db()
    assert (export.archive, export.parts_awaited, export.status) == (archive, ["notifications"], "pending")
    assert not OutboxEvent.objects.filter(type="account.export_ready").exists()


def test_the_email_is_published_once_every_part_is_in(broker, django_capture_on_commit_callbacks, monkeypatch):
    # A second remote part, answered by hand below (no app has one yet).
    monkeypatch.setattr(core_exports, "_PARTS", dict(core_exports._PARTS))
    core_exports.register_export_part("elsewhere", task="elsewhere.export", queue="default", sections=["zeta"])
    _ask(auth_client(CustomerFactory().user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    data_export_build(export_id=export.pk)
    asked = OutboxEvent.objects.filter(type="account.export_part_requested").order_by("task_name")
    assert [(e.task_name, e.data["part"]) for e in asked] == [
        ("elsewhere.export", "elsewhere"),
        ("notifications.data_export_sections", "notifications"),
    ]

    answer = _answer(broker)
    assert data_export_attach(**answer) is True

    export.refresh_from_db()
    assert (export.status, export.parts_awaited) == ("pending", ["elsewhere"])
    assert not OutboxEvent.objects.filter(type="account.export_ready").exists()

    # Only the sections the part registered are kept.
    assert data_export_attach(export_id=export.pk, part="elsewhere", sections={"zeta": [1], "inbox": ["forged"]})

    export.refresh_from_db()
    assert (export.status, export.archive["zeta"], export.archive["inbox"]) == ("ready", [1], [])
    assert OutboxEvent.objects.filter(type="account.export_ready").count() == 1


def test_a_request_whose_answer_was_lost_is_asked_again(broker, django_capture_on_commit_callbacks, settings):
    _ask(auth_client(CustomerFactory().user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    outbox_dispatch()
    assert broker.run() == [(BUILD_REQUESTS_TASK, "default")]
    assert outbox_dispatch() == 1
    # The worker died with the request (or the broker lost the answer).
    broker.messages.clear()
    assert outbox_dispatch() == 0

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS + 1)):
        assert outbox_dispatch() == 1
        assert broker.run() == [("notifications.data_export_sections", "notifications"), (ATTACH_TASK, "default")]

    export.refresh_from_db()
    assert export.status == "ready"
    assert OutboxEvent.objects.filter(type="account.export_ready").count() == 1


def test_anonymous_is_401(api_client):
    response = api_client.post(URL)

    assert response.status_code == 401
    assert not DataExport.objects.exists()


def test_the_purge_keeps_an_export_while_it_limits_or_its_link_works():
    from apps.core.tasks import retention_purge_task

    assert DATA_EXPORTS_PURGE in registered_purges(app_label="core")
    assert DATA_EXPORTS_PURGE.retention() == timedelta(days=7)
    user = CustomerFactory().user
    now = timezone.now()
    old = DataExport.objects.create(user=user, requested_at=now - timedelta(days=7, minutes=1))
    kept = DataExport.objects.create(user=user, requested_at=now - timedelta(days=6, hours=23))

    assert retention_purge_task()["account_exports"] == 1

    assert set(DataExport.objects.values_list("pk", flat=True)) == {kept.pk}
    assert not DataExport.objects.filter(pk=old.pk).exists()


def test_deleting_the_account_deletes_its_exports(broker, django_capture_on_commit_callbacks):
    from apps.accounts.services import user_erase
    from tests.factories import DEFAULT_PASSWORD

    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    _build(broker, DataExport.objects.get().pk)

    user_erase(user=customer.user, password=DEFAULT_PASSWORD)

    assert not DataExport.objects.exists()
