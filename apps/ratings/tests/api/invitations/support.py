"""What the partner invitation tests share: paths, clients, request helpers and expected bodies."""

from rest_framework.test import APIClient

from apps.core.models import OutboxEvent
from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.tests.conftest import summary_of
from tests.factories import partner_grant

URL = "/api/v1/ratings/invitations/"
MINE_URL = "/api/v1/customers/me/invitations/"
TTL = 3600


def key_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def invite(partner, customer, provider, reference="JOB-1"):
    partner_grant(partner.key, provider)
    return partner.post(
        URL, {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": reference}
    )


def partner_body(invitation: RatingInvitation, status: str) -> dict:
    invitation.refresh_from_db()
    return {
        "id": str(invitation.pk),
        "customer_id": str(invitation.customer_id),
        "provider_id": str(invitation.provider_id),
        "external_reference": invitation.external_reference,
        "status": status,
        "created_at": iso(invitation.created_at),
        "expires_at": iso(invitation.expires_at),
        "used_at": iso(invitation.used_at) if invitation.used_at else None,
        "revoked_at": iso(invitation.revoked_at) if invitation.revoked_at else None,
    }


def rate(client, provider, invitation_id, score=5, **extra):
    body = {"provider_id": str(provider.pk), "score": score, "invitation_id": str(invitation_id), **extra}
    return client.post("/api/v1/ratings/", body)


def state(provider) -> dict:
    """Everything a refused invitation use must leave as it was."""
    return {
        "ratings": list(Rating.objects.values_list("pk", "score", "comment", "verified", "invitation_id")),
        "invitations": list(RatingInvitation.objects.values_list("pk", "used_at", "revoked_at")),
        "summary": summary_of(provider),
        "outbox": OutboxEvent.objects.count(),
    }
