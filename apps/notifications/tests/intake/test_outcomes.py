"""Delivery outcomes coming back through the intake: endpoint health, webhook.disabled, devices.

The engine reports to ``delivery.outcomes``; the intake's listener (registered at start-up)
acts on them. These drive the interface directly, as the engine does after recording a group.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications.delivery import outcomes
from apps.notifications.delivery.channels.base import Result
from apps.notifications.delivery.outcomes import Outcome
from apps.notifications.intake.outcomes import delivery_outcomes_ingest
from apps.notifications.models import Device, Notification, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _endpoint(**fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        recipient_id=uuid.uuid4(), url="https://hooks.example.com/in", secret="whsec_x", **fields
    )


def test_the_intake_listens_from_start_up():
    assert delivery_outcomes_ingest in outcomes._listeners


def test_a_gone_endpoint_is_disabled_and_its_owner_told_once(django_capture_on_commit_callbacks):
    endpoint = _endpoint()
    gone = [Outcome(channel="webhook", result=Result.GONE, endpoint_id=endpoint.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        outcomes.report(gone)
        # Reported again (the record retried through a database blink): nothing more is told.
        outcomes.report(gone)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "the receiver answered 410 Gone")
    (notice,) = Notification.objects.all()
    assert (notice.recipient_id, notice.type) == (endpoint.recipient_id, "webhook.disabled")
    assert notice.data == {"endpoint_id": str(endpoint.pk), "url": endpoint.url, "reason": endpoint.disabled_reason}


def test_an_answer_clears_an_endpoints_run_of_failures_and_a_long_run_disables_it(
    settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER = 60
    answering = _endpoint(failing_since=timezone.now() - timedelta(hours=1))
    failing = _endpoint(failing_since=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        outcomes.report(
            [
                Outcome(channel="webhook", result=Result.SENT, endpoint_id=answering.pk),
                Outcome(channel="webhook", result=Result.RETRY, endpoint_id=failing.pk),
            ]
        )

    answering.refresh_from_db()
    failing.refresh_from_db()
    assert (answering.enabled, answering.failing_since) == (True, None)
    assert (failing.enabled, failing.disabled_reason) == (False, "every delivery attempt failed for too long")
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [failing.recipient_id]


def test_a_device_whose_token_is_gone_is_retired_and_the_others_stay():
    gone = Device.objects.create(recipient_id=uuid.uuid4(), token="gone", platform="android")
    kept = Device.objects.create(recipient_id=gone.recipient_id, token="kept", platform="ios")

    outcomes.report(
        [
            Outcome(channel="push", result=Result.GONE, device_id=gone.pk),
            Outcome(channel="push", result=Result.RETRY, device_id=kept.pk),
        ]
    )

    assert list(Device.objects.values_list("token", flat=True)) == ["kept"]
    assert not Notification.objects.exists()
