"""The circuit breakers an operator finds in the admin: the EMAIL_URL relay's beside the relays'."""

import pytest
from django.test import Client

from apps.notifications.delivery.channels.email.channel import EMAIL_URL_BREAKER
from apps.notifications.models import DeliveryProvider
from apps.notifications.outbound import breakers
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _relay_line(client) -> str:
    page = client.get("/admin/notifications/deliveryprovider/")
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('<p id="email-url-relay">')
    return " ".join(html[start : html.index("</p>", start)].split())


def test_the_providers_page_shows_the_email_url_relays_breaker_and_whether_it_sends():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    line = _relay_line(client)
    assert "EMAIL_URL relay" in line
    assert "sends the email" in line
    assert line.endswith("circuit breaker <strong>closed</strong>")

    breakers.trip(EMAIL_URL_BREAKER)
    assert _relay_line(client).endswith("circuit breaker <strong>open</strong>")

    relay = DeliveryProvider.objects.create(channel="email", name="relay", kind="smtp", endpoint="smtp://127.0.0.1:25")
    assert "standing by" in _relay_line(client)
    relay.enabled = False
    relay.save()
    assert "sends the email" in _relay_line(client)
