"""POST ratings/invitations/bulk/: up to 1,000 invitations, one transaction, one result per item."""

import pytest

from apps.core.models import OutboxEvent
from apps.partners.models import PartnerInvitation
from apps.ratings.models import RatingInvitation
from apps.ratings.tests.api.invitations.support import URL, invite, partner_body
from tests.factories import CustomerFactory, ProviderFactory, partner_grant

pytestmark = pytest.mark.django_db

BULK = URL + "bulk/"


def item(customer, provider, reference) -> dict:
    return {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": reference}


def created(reference) -> dict:
    invitation = RatingInvitation.objects.get(external_reference=reference)
    return {"status": "created", "invitation": partner_body(invitation, "open"), "error": None}


def failed(code, detail, attr) -> dict:
    return {"status": "failed", "invitation": None, "error": {"code": code, "detail": detail, "attr": attr}}


def test_a_batch_creates_each_invitation_once_with_a_result_per_item(partner, customer, provider):
    partner_grant(partner.key, provider)
    second, stranger = CustomerFactory(), ProviderFactory()
    body = {
        "invitations": [
            item(customer, provider, "JOB-1"),
            item(second, provider, "JOB-2"),
            # The same customer and provider again, under another reference: that invitation.
            item(customer, provider, "JOB-3"),
            item(second, stranger, "JOB-4"),
            # JOB-2 is this provider's reference for another customer.
            item(customer, provider, "JOB-2"),
        ]
    }

    response = partner.post(BULK, body)

    assert response.status_code == 200
    first = created("JOB-1")
    assert response.json() == {
        "results": [
            first,
            created("JOB-2"),
            {**first, "status": "existing"},
            failed("does_not_exist", "Provider not found.", "provider_id"),
            failed(
                "already_invited", "This provider already has an invitation with this reference.", "external_reference"
            ),
        ],
        "created": 2,
        "existing": 1,
        "failed": 2,
    }
    assert PartnerInvitation.objects.filter(partner=partner.key.partner).count() == 2
    # Each customer is told once, through the same event as for one invitation.
    assert sorted(
        OutboxEvent.objects.filter(type="rating.invited").values_list("data__customer_user_id", flat=True)
    ) == (sorted([str(customer.user_id), str(second.user_id)]))


def test_the_same_batch_again_creates_and_tells_nothing(partner, customer, provider):
    partner_grant(partner.key, provider)
    invite(partner, customer, provider, "EARLIER")
    body = {"invitations": [item(customer, provider, "JOB-1"), item(CustomerFactory(), provider, "JOB-2")]}
    first = partner.post(BULK, body).json()
    outbox = OutboxEvent.objects.count()

    again = partner.post(BULK, body).json()

    earlier = partner_body(RatingInvitation.objects.get(external_reference="EARLIER"), "open")
    assert first["results"][0] == {"status": "existing", "invitation": earlier, "error": None}
    assert again == {
        "results": [{**r, "status": "existing"} for r in first["results"]],
        "created": 0,
        "existing": 2,
        "failed": 0,
    }
    assert RatingInvitation.objects.count() == 2
    assert OutboxEvent.objects.count() == outbox


def test_a_used_invitation_does_not_stop_a_new_one_for_a_later_job(partner, customer, provider, customer_client):
    invite(partner, customer, provider, "JOB-1")
    used = RatingInvitation.objects.get()
    customer_client.post(
        "/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5, "invitation_id": str(used.pk)}
    )

    response = partner.post(
        BULK, {"invitations": [item(customer, provider, "JOB-1"), item(customer, provider, "JOB-9")]}
    )

    # Its own reference comes back as it is (used); a new job's reference is a new invitation.
    assert response.json()["results"] == [
        {"status": "existing", "invitation": partner_body(used, "used"), "error": None},
        created("JOB-9"),
    ]


def test_another_partners_invitations_are_neither_returned_nor_blocking(partner, other_partner, customer, provider):
    invite(other_partner, customer, provider, "THEIRS")
    partner_grant(partner.key, provider)

    response = partner.post(
        BULK, {"invitations": [item(customer, provider, "THEIRS"), item(customer, provider, "MINE")]}
    )

    assert response.json()["results"] == [
        failed("already_invited", "This provider already has an invitation with this reference.", "external_reference"),
        created("MINE"),
    ]


def test_a_thousand_invitations_cost_a_fixed_number_of_queries(partner, provider, django_assert_max_num_queries):
    from apps.accounts.models import User
    from apps.customers.models import Customer

    partner_grant(partner.key, provider)
    users = User.objects.bulk_create(User(email=f"bulk{i}@example.com", name=f"Bulk {i}") for i in range(1000))
    customers = Customer.objects.bulk_create(Customer(user=user) for user in users)
    body = {"invitations": [item(c, provider, f"JOB-{i}") for i, c in enumerate(customers)]}

    # Reads, the partner's lock, two multi-row INSERTs, and one outbox INSERT (+ NOTIFY) per
    # customer told: the notices are the only per-item cost.
    with django_assert_max_num_queries(30 + 2 * 1000):
        response = partner.post(BULK, body)

    assert response.status_code == 200
    assert (response.json()["created"], RatingInvitation.objects.count()) == (1000, 1000)
    assert OutboxEvent.objects.filter(type="rating.invited").count() == 1000


@pytest.mark.parametrize(
    ("body", "attr", "code", "detail"),
    [
        ({"invitations": []}, "invitations", "min_length", "Ensure this field has at least 1 elements."),
        ({"invitations": "x"}, "invitations", "not_a_list", 'Expected a list of items but got type "str".'),
        ({}, "invitations", "required", "This field is required."),
        (
            {"invitations": [{"customer_id": "nope", "provider_id": None, "external_reference": "J"}]},
            "invitations.0.customer_id",
            "invalid",
            "Must be a valid UUID.",
        ),
        # An item that is no object, null included, is reported under its non_field_errors (the
        # documented error components; schema fuzzing found null reported under the item itself).
        (
            {"invitations": [None]},
            "invitations.0.non_field_errors",
            "null",
            "Invalid data. Expected a dictionary, but got null.",
        ),
        (
            {"invitations": ["AAA"]},
            "invitations.0.non_field_errors",
            "invalid",
            "Invalid data. Expected a dictionary, but got str.",
        ),
    ],
)
def test_a_malformed_batch_is_400_and_creates_nothing(partner, body, attr, code, detail):
    response = partner.post(BULK, body, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert {"code": code, "detail": detail, "attr": attr} in response.json()["errors"]
    assert not RatingInvitation.objects.exists()


def test_more_than_a_thousand_is_400(partner, customer, provider):
    body = {"invitations": [item(customer, provider, f"JOB-{i}") for i in range(1001)]}

    response = partner.post(BULK, body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {"code": "max_length", "detail": "Ensure this field has no more than 1000 elements.", "attr": "invitations"}
        ],
    }


def test_a_key_without_the_invitations_scope_is_refused(customer, provider):
    from apps.ratings.tests.api.invitations.support import key_client
    from tests.factories import partner_key_create

    _, secret = partner_key_create(scopes=["read"])
    response = key_client(secret).post(BULK, {"invitations": [item(customer, provider, "J")]}, format="json")

    assert response.status_code == 403
    assert not RatingInvitation.objects.exists()
