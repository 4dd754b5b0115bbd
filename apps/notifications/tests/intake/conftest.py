"""Fixtures of the services tests (digests and quiet hours)."""

import uuid

import pytest


@pytest.fixture
def recipient():
    return uuid.uuid4()


@pytest.fixture
def urls(settings):
    settings.NOTIFICATIONS_EMAIL_DOMAIN = "mail.test"
    settings.NOTIFICATIONS_PUBLIC_BASE_URL = "https://ratings.test"
