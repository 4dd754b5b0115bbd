"""One reminder per open invitation, RATING_INVITATION_REMINDER_DELAY after it was made."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.notifications.intake.ingest import events_ingest
from apps.notifications.models import Notification
from apps.ratings.models import RatingInvitation
from apps.ratings.services import INVITATION_REMINDER_EVENT, invitation_reminders_send, rating_create
from apps.ratings.tasks import invitation_reminders_send_task
from apps.ratings.tests.api.invitations.support import invite, rate
from conftest import auth_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DELAY = 600


@pytest.fixture(autouse=True)
def _delay(settings):
    settings.RATING_INVITATION_REMINDER_DELAY = DELAY


def _reminders():
    return list(OutboxEvent.objects.filter(type=INVITATION_REMINDER_EVENT).order_by("created_at"))


def _later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def test_an_open_invitation_is_reminded_once_after_the_delay(partner, customer, provider):
    invite(partner, customer, provider)
    invitation = RatingInvitation.objects.get()

    with _later(DELAY - 5):
        assert invitation_reminders_send() == 0
    with _later(DELAY + 5):
        assert invitation_reminders_send_task.apply().get() == 1
        assert invitation_reminders_send() == 0
    with _later(DELAY + 120):
        assert invitation_reminders_send() == 0

    [event] = _reminders()
    # The invitation as published (version 2); the notifications intake decides who is told.
    assert event.version == 2
    assert event.data == {
        "invitation_id": str(invitation.pk),
        "provider_id": str(provider.pk),
        "provider_name": provider.name,
        "provider_user_id": str(provider.user_id),
        "customer_id": str(customer.pk),
        "customer_user_id": str(customer.user_id),
        "customer_name": customer.user.name,
        "customer_email": customer.user.email,
        "expires_at": invitation.expires_at.isoformat(),
        "url": f"https://app.example.com/rate?invitation={invitation.pk}&provider={provider.pk}",
        "occurred_at": event.data["occurred_at"],
    }
    invitation.refresh_from_db()
    assert invitation.reminded_at is not None
    # Through the normal pipeline: the customer's inbox has the reminder beside the invitation.
    events_ingest(envelopes=[e.envelope for e in OutboxEvent.objects.order_by("created_at")])
    inbox = Notification.objects.filter(recipient_id=customer.user_id)
    assert sorted(inbox.values_list("type", "title")) == [
        ("rating.invitation_reminder", f"Reminder: rate {provider.name}"),
        ("rating.invited", f"Rate {provider.name}: your rating will be verified"),
    ]
    reminder = inbox.get(type=INVITATION_REMINDER_EVENT)
    keys = ("invitation_id", "provider_id", "provider_name", "expires_at", "url")
    assert reminder.data == {key: event.data[key] for key in keys}
    assert reminder.body == (
        f"You have not rated the job {provider.name} did for you yet. Your invitation works until "
        f"{event.data['expires_at'][:10]}; a rating made with it is shown as verified."
    )


def test_a_used_revoked_or_expired_invitation_is_not_reminded(partner, customer, provider, settings):
    invite(partner, customer, provider, "USED")
    rate(auth_client(customer.user), provider, RatingInvitation.objects.get(external_reference="USED").pk)
    other = CustomerFactory()
    invite(partner, other, provider, "REVOKED")
    revoked = RatingInvitation.objects.get(external_reference="REVOKED")
    assert partner.post(f"/api/v1/ratings/invitations/{revoked.pk}/revoke/").status_code == 200
    invite(partner, CustomerFactory(), provider, "OPEN")

    # Past the TTL (3600 s) nothing is due any more; before it only the open one is.
    with _later(settings.RATING_INVITATION_TTL + 5):
        assert invitation_reminders_send() == 0
    with _later(DELAY + 5):
        assert invitation_reminders_send() == 1
    assert [e.data["invitation_id"] for e in _reminders()] == [
        str(RatingInvitation.objects.get(external_reference="OPEN").pk)
    ]


def test_no_reminders_when_the_delay_is_zero(partner, customer, provider, settings):
    settings.RATING_INVITATION_REMINDER_DELAY = 0
    invite(partner, customer, provider)

    with _later(3000):
        assert invitation_reminders_send() == 0
    assert _reminders() == []


def test_a_sweep_works_in_bounded_batches_and_the_next_one_takes_the_rest(partner, provider):
    for n in range(5):
        invite(partner, CustomerFactory(), provider, f"JOB-{n}")

    with _later(DELAY + 5):
        assert invitation_reminders_send(batch_size=2, max_batches=2) == 4
        assert invitation_reminders_send(batch_size=2, max_batches=2) == 1
    assert len(_reminders()) == 5
    assert not RatingInvitation.objects.filter(reminded_at__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(partner, provider):
    for n in range(30):
        invite(partner, CustomerFactory(), provider, f"JOB-{n}")
    counts, errors = [], []
    start = threading.Barrier(2, timeout=10)

    def sweep():
        try:
            start.wait()
            counts.append(invitation_reminders_send(now=timezone.now() + timedelta(seconds=DELAY + 5), batch_size=4))
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sum(counts) == 30
    reminded = [e.data["invitation_id"] for e in _reminders()]
    assert len(reminded) == len(set(reminded)) == 30


def test_a_rating_made_without_the_invitation_does_not_stop_its_reminder(partner, customer, provider):
    # Only using or revoking the invitation does: the customer may still verify the rating with it.
    invite(partner, customer, provider)
    rating_create(customer=customer, provider=provider, score=4)

    with _later(DELAY + 5):
        assert invitation_reminders_send() == 1
