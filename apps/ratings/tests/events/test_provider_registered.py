"""A registered provider gets its summary row through the providers app's published event."""

import pytest

from apps.providers import events as provider_events
from apps.providers.models import Provider
from apps.providers.services import provider_register
from apps.ratings.models import RatingSummary
from tests.factories import UserFactory


@pytest.fixture
def sent():
    calls = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    provider_events.provider_registered.connect(receiver, dispatch_uid="test-provider-registered")
    yield calls
    provider_events.provider_registered.disconnect(dispatch_uid="test-provider-registered")


@pytest.mark.django_db
def test_registering_a_provider_publishes_the_event_and_makes_its_empty_summary(sent):
    provider = provider_register(email="pipes@example.com", password=None, name="Pipes Ltd")

    assert [(c["sender"], c["event"], c["version"]) for c in sent] == [(Provider, {"provider_id": str(provider.pk)}, 1)]
    summary = RatingSummary.objects.get(provider=provider)
    assert (summary.count, summary.sum, summary.verified_count) == (0, 0, 0)


@pytest.mark.django_db
def test_a_provider_saved_outside_the_service_gets_no_summary_from_a_model_signal():
    # The summary follows the published event only: no post_save receiver acts on the model.
    provider = Provider.objects.create(user=UserFactory(), name="A")

    assert not RatingSummary.objects.filter(provider=provider).exists()
