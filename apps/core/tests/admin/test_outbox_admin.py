"""Outbox events in the admin: state column and filter, and the replay of dead events."""

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.models import OutboxEvent
from tests.factories import UserFactory, moderator_create

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/core/outboxevent/"


def _row(**fields) -> OutboxEvent:
    return OutboxEvent.objects.create(
        type="rating.created",
        occurred_at=timezone.now(),
        data={},
        task_name="notifications.ingest_events",
        queue="notifications",
        **fields,
    )


@pytest.fixture
def events() -> dict[str, OutboxEvent]:
    now = timezone.now()
    return {
        "pending": _row(),
        "dispatched": _row(dispatched_at=now, attempts=1),
        "confirmed": _row(dispatched_at=now, confirmed_at=now, attempts=1),
        "dead": _row(dispatched_at=now, dead_at=now, attempts=10, last_error="dead: dispatched 10 times"),
    }


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_list_shows_each_events_state_and_filters_by_it(superuser_client, events):
    page = superuser_client.get(CHANGELIST)
    assert page.status_code == 200
    states = {str(obj.pk): page.context["cl"].model_admin.state(obj) for obj in page.context["cl"].result_list}
    assert states == {str(event.pk): state for state, event in events.items()}
    for state, event in events.items():
        filtered = superuser_client.get(CHANGELIST, {"state": state})
        assert [obj.pk for obj in filtered.context["cl"].result_list] == [event.pk], state


def test_replay_gives_the_selected_dead_events_fresh_attempts(superuser_client, events):
    response = superuser_client.post(
        CHANGELIST,
        {"action": "replay", "_selected_action": [str(events["dead"].pk), str(events["pending"].pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 dead events queued again." in response.content.decode()
    dead = OutboxEvent.objects.get(pk=events["dead"].pk)
    assert (dead.dead_at, dead.attempts, dead.dispatched_at, dead.locked_until) == (None, 0, None, None)
    assert OutboxEvent.objects.get(pk=events["pending"].pk).attempts == 0


def test_view_only_staff_see_the_outbox_but_cannot_replay(events):
    moderator = Client()
    moderator.force_login(moderator_create())
    page = moderator.get(CHANGELIST)
    assert page.status_code == 200
    assert "replay" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)

    response = moderator.post(CHANGELIST, {"action": "replay", "_selected_action": [str(events["dead"].pk)]})

    assert response.status_code == 200  # the changelist again: the action is not offered
    dead = OutboxEvent.objects.get(pk=events["dead"].pk)
    assert (dead.dead_at is not None, dead.attempts) == (True, 10)
