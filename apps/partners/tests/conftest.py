import pytest
from rest_framework.test import APIClient

from apps.ratings.tests.conftest import events  # noqa: F401 - the ratings events fixture
from conftest import auth_client
from tests.factories import CustomerFactory, partner_key_create


def key_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def partner_key(db):
    return partner_key_create()


@pytest.fixture
def partner(partner_key) -> APIClient:
    return key_client(partner_key[1])


@pytest.fixture
def jwt_client(db) -> APIClient:
    return auth_client(CustomerFactory().user)
