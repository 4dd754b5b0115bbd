"""Fixtures of the partner invitation tests: a short TTL, a link template and two partners."""

import pytest

from apps.ratings.tests.api.invitations.support import TTL, key_client
from tests.factories import partner_key_create


@pytest.fixture(autouse=True)
def _ttl(settings):
    settings.RATING_INVITATION_TTL = TTL
    settings.RATING_INVITATION_URL = "https://app.example.com/rate?invitation={invitation_id}&provider={provider_id}"


@pytest.fixture
def partner():
    key, secret = partner_key_create()
    client = key_client(secret)
    client.key = key
    return client


@pytest.fixture
def other_partner():
    key, secret = partner_key_create(name="Other partner")
    client = key_client(secret)
    client.key = key
    return client
