"""Partner invitations to a verified rating, at ``/api/v1/ratings/invitations/``: the partner's own.

These keep the API's ``{type, errors}`` error shape (they are ``/api/v1/`` paths), with the
partner key's authentication and scopes.
"""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.api.base import APIView, GenericAPIView
from apps.core.openapi import conflict_response
from apps.customers.models import Customer
from apps.partners.api.authentication import PartnerKeyAccess
from apps.partners.api.invitation_serializers import RatingInvitationBulkInput, RatingInvitationBulkOutput
from apps.partners.models import Scope
from apps.partners.selectors import partner_invitation_list
from apps.partners.services import (
    BULK_INVITATIONS_MAX,
    partner_invitation_create,
    partner_invitation_revoke,
    partner_invitations_create_bulk,
)
from apps.providers.selectors import providers_active
from apps.ratings.api.serializers import RatingInvitationCreateInput, RatingInvitationOutput
from apps.ratings.models import RatingInvitation


@extend_validation_errors(["does_not_exist"], field_name="customer_id", methods=["post"])
@extend_validation_errors(["does_not_exist"], field_name="provider_id", methods=["post"])
class RatingInvitationListView(PartnerKeyAccess, GenericAPIView):
    """Invitations to a verified rating, created and listed by partners with a key."""

    required_scopes = {"GET": Scope.READ, "POST": Scope.INVITATIONS_WRITE}
    queryset = RatingInvitation.objects.none()
    serializer_class = RatingInvitationOutput

    @extend_schema(
        operation_id="ratings_invitations_list",
        summary="List the partner's invitations",
        description=(
            "The invitations the calling key's partner made, in every state (`open`, `used`, `revoked`, "
            "`expired`), newest first, cursor-paginated. Another partner's invitations are never listed. "
            "Needs the `read` scope."
        ),
        tags=["ratings"],
        responses={200: RatingInvitationOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(partner_invitation_list(partner=request.auth.partner))
        return self.get_paginated_response(RatingInvitationOutput(page, many=True).data)

    @extend_schema(
        operation_id="ratings_invitations_create",
        summary="Invite a verified rating",
        description=(
            "A partner (authenticated with its key) records that a customer had a job done by one of its "
            "providers (created or granted; any other is `does_not_exist`, as an unknown one). The customer "
            "then rates with `invitation_id` and the rating is verified (one rating per invitation), or "
            "verifies the rating it already has of that provider with it. One invitation per provider and "
            "external reference (409 `already_invited`). The invitation can be used for "
            "`RATING_INVITATION_TTL` (30 days by default); the customer is notified (inbox and email, with a "
            "link to the rating form). Needs the `invitations:write` scope."
        ),
        tags=["ratings"],
        request=RatingInvitationCreateInput,
        responses={201: RatingInvitationOutput, 409: conflict_response("already_invited")},
    )
    def post(self, request):
        data = RatingInvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        partner = request.auth.partner
        # A deleted (deactivated) customer can no longer sign in to rate: nothing to invite.
        customer = (
            Customer.objects.select_related("user")
            .filter(pk=data.validated_data["customer_id"], user__is_active=True)
            .first()
        )
        if customer is None:
            raise ValidationError({"customer_id": ["Customer not found."]}, code="does_not_exist")
        provider = (
            providers_active()
            .select_related("user")
            .filter(pk=data.validated_data["provider_id"], partner_links__partner=partner)
            .first()
        )
        if provider is None:
            raise ValidationError({"provider_id": ["Provider not found."]}, code="does_not_exist")
        invitation = partner_invitation_create(
            partner=partner,
            customer=customer,
            provider=provider,
            external_reference=data.validated_data["external_reference"],
        )
        return Response(RatingInvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


class RatingInvitationBulkView(PartnerKeyAccess, APIView):
    """Many invitations of a partner in one call."""

    required_scopes = {"POST": Scope.INVITATIONS_WRITE}

    @extend_schema(
        operation_id="ratings_invitations_bulk_create",
        summary="Invite many verified ratings",
        description=(
            f"Up to {BULK_INVITATIONS_MAX} invitations in one transaction, each as for one invitation, with one "
            "result per item in the request's order (200, whatever the items' outcomes). Idempotent per "
            "customer and provider: an item for which the partner already has an open invitation (made "
            "earlier, or by an item before it), or already made this `external_reference` for the same "
            "customer and provider, is `existing` and returns that invitation; nothing is created and "
            "nobody is told twice, so a batch can be retried or re-run as it is. An unknown customer, a "
            "provider that is not the partner's (`does_not_exist`) or a reference the provider already has "
            "for someone else (`already_invited`) fails that item only. A body that is not a list of 1 to "
            f"{BULK_INVITATIONS_MAX} well-formed items is 400 and creates nothing. Each open invitation gets "
            "one reminder after `RATING_INVITATION_REMINDER_DELAY`. Needs the `invitations:write` scope."
        ),
        tags=["ratings"],
        request=RatingInvitationBulkInput,
        responses={200: RatingInvitationBulkOutput, 409: conflict_response("already_invited")},
    )
    def post(self, request):
        data = RatingInvitationBulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        results = partner_invitations_create_bulk(
            partner=request.auth.partner, items=data.validated_data["invitations"]
        )
        body = {
            "results": [
                {
                    "status": r["status"],
                    "invitation": RatingInvitationOutput(r["invitation"]).data if r["invitation"] else None,
                    "error": r["error"],
                }
                for r in results
            ],
            **{outcome: sum(r["status"] == outcome for r in results) for outcome in ("created", "existing", "failed")},
        }
        return Response(body)


class RatingInvitationRevokeView(PartnerKeyAccess, APIView):
    """A partner withdraws one of its invitations."""

    required_scopes = {"POST": Scope.INVITATIONS_WRITE}

    @extend_schema(
        operation_id="ratings_invitations_revoke",
        summary="Revoke an invitation",
        description=(
            "The invitation can no longer verify a rating (the customer's list no longer shows it). Revoking "
            "a revoked invitation changes nothing and answers the same (idempotent). An invitation that "
            "already verified a rating cannot be revoked (409 `invitation_used`); another partner's "
            "invitation is 404. Needs the `invitations:write` scope."
        ),
        tags=["ratings"],
        request=None,
        responses={200: RatingInvitationOutput, 409: conflict_response("invitation_used")},
    )
    def post(self, request, invitation_id: UUID):
        invitation = partner_invitation_revoke(partner=request.auth.partner, invitation_id=invitation_id)
        return Response(RatingInvitationOutput(invitation).data)
