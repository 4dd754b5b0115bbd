"""Staff manage partners in the admin: a key shown once, rotation, revocation, use, grants."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from apps.partners.models import Partner, PartnerKey, PartnerProvider
from tests.factories import ProviderFactory, UserFactory, partner_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_new_key_is_shown_once_and_stored_hashed(staff):
    partner = Partner.objects.create(name="Homerun")

    response = staff.post(
        "/admin/partners/partnerkey/add/",
        {"name": "Production", "partner": str(partner.pk), "scopes": '["read", "feed:read"]'},
    )

    assert response.status_code == 302
    (message,) = [m for m in _messages(response) if "The API key for" in m]
    secret = re.search(r"The API key for Production is: (\S+)\.", message)[1]
    key = PartnerKey.objects.get()
    assert (key.partner, key.scopes) == (partner, ["read", "feed:read"])
    assert PartnerKey.objects.get_from_key(secret) == key
    assert secret.split(".", 1)[1] not in key.hashed_key
    # Shown on the next page only; the change page shows the use, never the secret again.
    assert secret in staff.get("/admin/partners/partnerkey/").content.decode()
    page = staff.get(f"/admin/partners/partnerkey/{key.pk}/change/").content.decode()
    assert "Request count" in page
    assert secret not in page


def test_rotate_and_revoke_actions(staff, settings):
    settings.PARTNER_KEY_ROTATION_GRACE = 3600
    key, _ = partner_key_create(name="Production")

    rotated = staff.post(
        "/admin/partners/partnerkey/", {"action": "rotate", "_selected_action": [key.pk]}, follow=False
    )

    (message,) = [m for m in _messages(rotated) if "store it now" in m]
    new = PartnerKey.objects.get(rotated_from=key)
    secret = re.search(r"is: (\S+) — store it now", message)[1]
    assert PartnerKey.objects.get_from_key(secret) == new
    key.refresh_from_db()
    assert key.expiry_date is not None and not key.revoked

    staff.post("/admin/partners/partnerkey/", {"action": "revoke", "_selected_action": [key.pk, new.pk]})

    assert set(PartnerKey.objects.values_list("revoked", flat=True)) == {True}


def test_staff_grant_a_partner_an_existing_provider(staff):
    partner = Partner.objects.create(name="Homerun")
    provider = ProviderFactory()

    response = staff.post(
        f"/admin/partners/partner/{partner.pk}/change/",
        {
            "name": "Homerun",
            "is_active": "on",
            "keys-TOTAL_FORMS": "0",
            "keys-INITIAL_FORMS": "0",
            "provider_links-TOTAL_FORMS": "1",
            "provider_links-INITIAL_FORMS": "0",
            "provider_links-0-provider": str(provider.pk),
            "provider_links-0-granted": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    link = PartnerProvider.objects.get()
    assert (link.partner, link.provider, link.granted) == (partner, provider, True)


def test_unknown_scopes_are_refused(staff):
    partner = Partner.objects.create(name="Homerun")

    response = staff.post(
        "/admin/partners/partnerkey/add/",
        {"name": "Production", "partner": str(partner.pk), "scopes": '["read", "everything"]'},
    )

    assert response.status_code == 200
    assert "Unknown scopes: everything." in response.content.decode()
    assert not PartnerKey.objects.exists()
