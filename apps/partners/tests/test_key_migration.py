"""The keys staff issued before partners were tenants (ratings.PartnerAPIKey) keep working after
the migration that moves them to partners.PartnerKey, each as a partner of its own with its
invitations."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient
from rest_framework_api_key.crypto import KeyGenerator

from apps.partners.models import ALL_SCOPES, PartnerKey
from tests.factories import CustomerFactory, ProviderFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

BEFORE = [("ratings", "0006_directory_order_indexes"), ("partners", "0001_initial")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_an_old_key_still_authenticates_and_keeps_its_invitations():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    # Made through today's services (and models) before going back: the rows stay, the columns
    # that came later go and come back with their defaults.
    customer, provider = CustomerFactory(), ProviderFactory()
    old_apps = _migrate(BEFORE)
    try:
        OldKey = old_apps.get_model("ratings", "PartnerAPIKey")
        Invitation = old_apps.get_model("ratings", "RatingInvitation")
        secret, prefix, hashed = KeyGenerator().generate()
        OldKey.objects.create(id=f"{prefix}.{hashed}", prefix=prefix, hashed_key=hashed, name="Homerun")
        revoked_secret, revoked_prefix, revoked_hash = KeyGenerator().generate()
        OldKey.objects.create(
            id=f"{revoked_prefix}.{revoked_hash}",
            prefix=revoked_prefix,
            hashed_key=revoked_hash,
            name="Homerun",
            revoked=True,
        )
        invitation = Invitation.objects.create(
            customer_id=customer.pk,
            provider_id=provider.pk,
            external_reference="J-1",
            partner_key_id=f"{prefix}.{hashed}",
        )
    finally:
        _migrate(latest)

    key = PartnerKey.objects.get_from_key(secret)
    # Every scope there was at the move; one added later (the trigger API's) is staff's to grant.
    scopes_then = [scope for scope in ALL_SCOPES if scope != "notifications:trigger"]
    assert (key.name, key.scopes, key.partner.name) == ("Homerun", scopes_then, "Homerun")
    # Two old keys, two partners (the second with a name of its own), the revoked one still revoked.
    revoked = PartnerKey.objects.get(prefix=revoked_prefix)
    assert revoked.revoked and revoked.partner.name == "Homerun (2)"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    listed = client.get("/api/v1/ratings/invitations/")
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["results"]] == [str(invitation.pk)]
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {revoked_secret}")
    assert client.get("/api/v1/ratings/invitations/").status_code == 401
