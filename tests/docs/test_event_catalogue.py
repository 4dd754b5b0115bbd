"""docs/architecture.md's event catalogue names every published event type with its version."""

import dataclasses
import re
from pathlib import Path

import pytest

from apps.accounts import events as account_events
from apps.notifications.intake.handlers import HANDLERS
from apps.partners import events as partner_events
from apps.providers import events as provider_events
from apps.ratings import events as rating_events

ARCHITECTURE = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
PUBLISHED = [
    *rating_events.EVENT_TYPES,
    *provider_events.EVENT_TYPES,
    *account_events.EVENT_TYPES,
    *account_events.REQUEST_TYPES,
    *partner_events.EVENT_TYPES,
]


def _catalogue_row(event_type: str) -> str:
    rows = [line for line in ARCHITECTURE.splitlines() if line.startswith(f"| `{event_type}` (")]
    assert rows, f"{event_type} is missing from docs/architecture.md"
    return rows[0]


@pytest.mark.parametrize("event_class", PUBLISHED, ids=lambda c: c.TYPE)
def test_each_published_type_is_in_the_catalogue_with_its_version_and_class(event_class):
    row = _catalogue_row(event_class.TYPE)
    assert row.startswith(f"| `{event_class.TYPE}` ({event_class.VERSION}) |")
    assert event_class.__name__ in row


DOMAIN = [*rating_events.EVENT_TYPES, *provider_events.EVENT_TYPES]


@pytest.mark.parametrize("event_class", DOMAIN, ids=lambda c: c.TYPE)
def test_the_catalogue_names_the_keys_a_domain_event_adds(event_class):
    row = _catalogue_row(event_class.TYPE)
    shared = {f.name for f in dataclasses.fields(rating_events.RatingEvent)}
    own = {f.name for f in dataclasses.fields(event_class)}
    added = own - shared if issubclass(event_class, rating_events.RatingEvent) else own
    named = set(re.findall(r"`(\w+)`", row))
    assert added <= named, f"{event_class.TYPE}: {sorted(added - named)} not in its catalogue row"


CONSUMED = [*rating_events.EVENT_TYPES, *account_events.EVENT_TYPES, *partner_events.EVENT_TYPES]


@pytest.mark.parametrize("event_class", CONSUMED, ids=lambda c: c.TYPE)
def test_each_outbox_event_has_a_handler_at_its_version_in_the_notifications_intake(event_class):
    # A new version published without its handler would be skipped by the consumer.
    assert (event_class.TYPE, event_class.VERSION) in HANDLERS
    row = _catalogue_row(event_class.TYPE)
    assert "intake" in row


@pytest.mark.parametrize("event_class", account_events.REQUEST_TYPES, ids=lambda c: c.TYPE)
def test_each_request_names_its_keys_and_is_no_intake_event(event_class):
    # Sent to the task of the part it asks, not to the intake: no handler may answer it there.
    assert not any(event_type == event_class.TYPE for event_type, _ in HANDLERS)
    row = _catalogue_row(event_class.TYPE)
    own = {f.name for f in dataclasses.fields(event_class)}
    assert own <= set(re.findall(r"`(\w+)`", row))
