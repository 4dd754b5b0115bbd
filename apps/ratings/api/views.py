from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.accounts.permissions import IsCustomer
from apps.core.api.base import APIView, GenericAPIView
from apps.core.db.page_queries import row_by_pk
from apps.core.exceptions import PermissionDenied
from apps.core.idempotency import InvalidIdempotencyKey, idempotent
from apps.core.openapi import conflict_response, database_unavailable_response, raises, unprocessable_response
from apps.providers.selectors import providers_active
from apps.ratings.api.serializers import (
    CustomerInvitationOutput,
    RatingCreateInput,
    RatingHelpfulVoteOutput,
    RatingListQuery,
    RatingOutput,
    RatingReplyInput,
    RatingReplyOutput,
    RatingReportCreateInput,
    RatingReportOutput,
    RatingUpdateInput,
)
from apps.ratings.api.throttling import HelpfulVoteIPThrottle, HelpfulVoteThrottle, RatingSubmitThrottle
from apps.ratings.filters import RatingOrdering
from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.selectors import (
    invitation_list_open,
    rating_get_for_author,
    rating_get_for_provider,
    rating_get_published,
    rating_get_visible,
    rating_invitation_get,
    rating_list,
)
from apps.ratings.services import (
    CannotReportOwnRating,
    CannotVoteOwnRating,
    CompetitorCannotVote,
    EditWindowClosed,
    InvalidInvitation,
    InvitationExpired,
    InvitationRevoked,
    VoteNeedsVerifiedEmail,
    helpful_vote_add,
    helpful_vote_remove,
    rating_create,
    rating_delete,
    rating_update,
    rating_verify,
    reply_delete,
    reply_set,
    report_create,
)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first successful response for this key (per user, 24 h).",
)


@extend_validation_errors(["does_not_exist"], field_name="provider_id", methods=["post"])
@extend_validation_errors(["does_not_exist"], field_name="invitation_id", methods=["post"])
@extend_validation_errors(["invalid_choice"], field_name="ordering", methods=["get"])
@extend_validation_errors(["blank", "max_length"], field_name="q", methods=["get"])
@extend_validation_errors(["blank", "invalid"], field_name="stars", methods=["get"])
@extend_validation_errors(["invalid"], field_name="verified", methods=["get"])
@extend_validation_errors(["invalid"], field_name="has_comment", methods=["get"])
class RatingListView(GenericAPIView):
    """Published ratings newest first, and rating submission (customers only)."""

    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, RatingSubmitThrottle]
    queryset = Rating.objects.none()
    serializer_class = RatingOutput
    # Read by the cursor paginator, which applies the ordering and keeps it in the cursor.
    filter_backends = [RatingOrdering]

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsCustomer()]

    @extend_schema(
        operation_id="ratings_list",
        summary="List ratings",
        description=(
            "Published ratings, newest first, cursor-paginated; `provider` narrows to one provider. "
            "`q` searches the comments (PostgreSQL full-text search, stemmed in each review's language, served by "
            "a GIN index, most relevant first among the newest 1,000 matches by default, or every match in "
            "the `ordering` asked for; the embedded SQLite matches the text as a case-insensitive substring, "
            "newest first); `stars` keeps one or several scores, `verified` and `has_comment` keep ratings with "
            "or without a verification or a comment. A value that is not allowed is 400. "
            "`ordering=-helpful_count` lists the most helpful first (ties newest first). "
            "`mine=true` lists the signed-in customer's own ratings in every moderation state instead (401 "
            "when anonymous, 403 for a user who is not a customer)."
        ),
        tags=["ratings"],
        parameters=[RatingListQuery],
        responses={200: RatingOutput(many=True)},
    )
    @raises(PermissionDenied)
    def get(self, request):
        query = RatingListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer_id = None
        if query.validated_data["mine"]:
            if not request.user.is_authenticated:
                raise NotAuthenticated()
            if not request.user.is_customer:
                raise PermissionDenied("Only customers have ratings of their own.")
            customer_id = request.user.customer.pk
        queryset = rating_list(
            provider_id=query.validated_data.get("provider"),
            customer_id=customer_id,
            q=query.validated_data.get("q"),
            stars=query.validated_data.get("stars"),
            verified=query.validated_data["verified"],
            has_comment=query.validated_data["has_comment"],
            # Relevance is the order only when no other is asked for (RatingOrdering).
            ranked=RatingOrdering.ordering_param not in request.query_params,
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RatingOutput(page, many=True).data)

    @extend_schema(
        operation_id="ratings_create",
        summary="Rate a provider",
        description=(
            "A customer rates a provider from 1 to 5 stars with an optional comment; one rating per customer "
            "and provider (409 `already_rated`). A rating whose comment trips the content rules waits in "
            "`pending_review` for staff; otherwise it is published at once, the provider's summary changes in "
            "the same transaction and the provider is notified. An `Idempotency-Key` header replays the first "
            "successful answer for the same key and body (422 when the body differs). With `invitation_id` "
            "(an open partner invitation of this customer for this provider) the rating is verified; an "
            "invitation that expired (400 `invitation_expired`), was revoked (400 `invitation_revoked`) or "
            "already verified a rating (409 `invitation_used`) is refused and nothing is written."
        ),
        tags=["ratings"],
        request=RatingCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: RatingOutput,
            409: conflict_response("already_rated", "invitation_used"),
            422: unprocessable_response("idempotency_key_reused"),
            503: database_unavailable_response(),
        },
    )
    @raises(InvalidIdempotencyKey, InvalidInvitation, InvitationExpired, InvitationRevoked)
    def post(self, request):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request) -> Response:
        data = RatingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        # A key lookup compiled once per worker: building and compiling it was a fifth of a POST.
        provider = row_by_pk(providers_active().select_related("user"), data.validated_data["provider_id"])
        if provider is None:
            raise ValidationError({"provider_id": ["Provider not found."]}, code="does_not_exist")
        customer = request.user.customer
        invitation = None
        if data.validated_data["invitation_id"] is not None:
            invitation = _invitation(data.validated_data["invitation_id"], customer=customer, provider=provider)
        rating = rating_create(
            customer=customer,
            provider=provider,
            score=data.validated_data["score"],
            comment=data.validated_data["comment"],
            invitation=invitation,
        )
        return Response(RatingOutput(rating).data, status=status.HTTP_201_CREATED)


def _invitation(invitation_id, *, customer, provider) -> RatingInvitation:
    invitation = rating_invitation_get(invitation_id=invitation_id, customer=customer, provider=provider)
    if invitation is None:
        raise ValidationError({"invitation_id": ["Invitation not found."]}, code="does_not_exist")
    return invitation


@extend_validation_errors(["does_not_exist"], field_name="invitation_id", methods=["patch"])
class RatingDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(
        operation_id="ratings_retrieve",
        summary="A rating",
        description="A published rating, or the caller's own rating in any moderation state; otherwise 404.",
        tags=["ratings"],
        responses={200: RatingOutput},
    )
    def get(self, request, rating_id: UUID):
        return Response(RatingOutput(rating_get_visible(rating_id=rating_id, viewer=request.user)).data)

    @extend_schema(
        operation_id="ratings_partial_update",
        summary="Edit a rating",
        description=(
            "The author changes the score or the comment of their rating; the provider's summary follows in "
            "the same transaction and the rating as it was is kept in its history (`edited` becomes true). "
            "Only the author may (403 otherwise), and only within the edit window after creating it (403 "
            "`edit_window_closed`); a comment that trips the content rules sends the rating back to review. "
            "With `invitation_id` (an open partner invitation of the author for this provider, e.g. for a "
            "later job) the rating also becomes verified and the summary's `verified_count` follows; the edit "
            "window does not apply to this verification. An expired (400 `invitation_expired`), revoked (400 "
            "`invitation_revoked`) or used (409 `invitation_used`) invitation changes nothing."
        ),
        tags=["ratings"],
        request=RatingUpdateInput,
        responses={200: RatingOutput, 409: conflict_response("invitation_used")},
    )
    @raises(PermissionDenied, EditWindowClosed, InvalidInvitation, InvitationExpired, InvitationRevoked)
    def patch(self, request, rating_id: UUID):
        rating = rating_get_for_author(rating_id=rating_id, user=request.user)
        data = RatingUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        invitation_id = changes.pop("invitation_id", None)
        if invitation_id is None:
            return Response(RatingOutput(rating_update(rating=rating, editor=request.user, **changes)).data)
        invitation = _invitation(invitation_id, customer=rating.customer, provider=rating.provider)
        return Response(RatingOutput(rating_verify(rating=rating, invitation=invitation, **changes)).data)

    @extend_schema(
        operation_id="ratings_destroy",
        summary="Delete a rating",
        description=(
            "The author deletes their rating and the provider's summary no longer counts it; notifications "
            "about it that are not delivered yet are cancelled. Only the author may (403 otherwise), also "
            "after the edit window has closed."
        ),
        tags=["ratings"],
        responses={204: None},
    )
    @raises(PermissionDenied)
    def delete(self, request, rating_id: UUID):
        rating_delete(rating=rating_get_for_author(rating_id=rating_id, user=request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RatingReportListView(APIView):
    """Reports of one rating to staff."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="ratings_reports_create",
        summary="Report a rating",
        description=(
            "Reports a rating to staff for moderation, once per user and rating (409 `already_reported`); the "
            "author cannot report their own rating (403 `cannot_report_own_rating`). The rating stays visible "
            "until staff decide."
        ),
        tags=["ratings"],
        request=RatingReportCreateInput,
        responses={201: RatingReportOutput, 409: conflict_response("already_reported")},
    )
    @raises(CannotReportOwnRating)
    def post(self, request, rating_id: UUID):
        rating = rating_get_visible(rating_id=rating_id, viewer=request.user)
        data = RatingReportCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = report_create(rating=rating, reporter=request.user, **data.validated_data)
        return Response(RatingReportOutput(report).data, status=status.HTTP_201_CREATED)


class RatingReplyView(APIView):
    """The rated provider's one public reply."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="ratings_reply_update",
        summary="Reply to a rating",
        description=(
            "Creates or replaces the rated provider's one reply to a rating. A reply that trips the content "
            "rules waits in `pending_review` for staff and is not public; a published reply edited into such "
            "content goes back to review. The rating's author is notified when the reply is public. Only the "
            "rated provider may (403 otherwise)."
        ),
        tags=["ratings"],
        request=RatingReplyInput,
        responses={200: RatingReplyOutput},
    )
    @raises(PermissionDenied)
    def put(self, request, rating_id: UUID):
        rating = rating_get_for_provider(rating_id=rating_id, user=request.user)
        data = RatingReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        reply = reply_set(rating=rating, body=data.validated_data["body"])
        return Response(RatingReplyOutput(reply).data)

    @extend_schema(
        operation_id="ratings_reply_destroy",
        summary="Delete a reply",
        description=("Removes the rated provider's reply to a rating. Only the rated provider may (403 otherwise)."),
        tags=["ratings"],
        responses={204: None},
    )
    @raises(PermissionDenied)
    def delete(self, request, rating_id: UUID):
        reply_delete(rating=rating_get_for_provider(rating_id=rating_id, user=request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RatingHelpfulView(APIView):
    """The caller's "this rating was helpful" vote."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, HelpfulVoteThrottle, HelpfulVoteIPThrottle]

    @extend_schema(
        operation_id="ratings_helpful_create",
        summary="Vote a rating helpful",
        description=(
            "Counts the caller's vote that a published rating was helpful: 201 for a new vote, 200 with the "
            "same body when the caller had already voted (nothing changes, so a retried request is safe). "
            "The rating's author and the rated provider cannot vote on it (403 `cannot_vote_own_rating`), nor "
            "an account whose email address is not confirmed (403 `email_not_verified`), nor a provider that "
            "shares a service category with the rated one (403 `competitor_cannot_vote`). Votes are limited "
            "per account (THROTTLE_HELPFUL_VOTE) and per client IP (THROTTLE_HELPFUL_VOTE_IP); 429 past "
            "either. A rating that is not published is 404."
        ),
        tags=["ratings"],
        request=None,
        responses={201: RatingHelpfulVoteOutput, 200: RatingHelpfulVoteOutput},
    )
    @raises(CannotVoteOwnRating, VoteNeedsVerifiedEmail, CompetitorCannotVote)
    def post(self, request, rating_id: UUID):
        rating = rating_get_published(rating_id=rating_id)
        helpful_count, created = helpful_vote_add(rating=rating, user=request.user)
        return Response(
            RatingHelpfulVoteOutput({"rating_id": rating.pk, "helpful_count": helpful_count, "voted": True}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="ratings_helpful_destroy",
        summary="Withdraw a helpful vote",
        description=(
            "Withdraws the caller's helpful vote on a published rating; 204 also when there was none. A rating "
            "that is not published is 404."
        ),
        tags=["ratings"],
        responses={204: None},
    )
    def delete(self, request, rating_id: UUID):
        helpful_vote_remove(rating=rating_get_published(rating_id=rating_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerInvitationListView(GenericAPIView):
    """The signed-in customer's open invitations to a verified rating."""

    permission_classes = [IsCustomer]
    queryset = RatingInvitation.objects.none()
    serializer_class = CustomerInvitationOutput

    @extend_schema(
        operation_id="customers_me_invitations",
        summary="My open rating invitations",
        description=(
            "Partner invitations the signed-in customer can still use (not used, revoked or expired), newest "
            "first, cursor-paginated. `rating_id` is the customer's rating of that provider when there is "
            "one: verify it with `PATCH /api/v1/ratings/{id}/` and `invitation_id`; otherwise rate with "
            "`POST /api/v1/ratings/` and `invitation_id`."
        ),
        tags=["customers"],
        responses={200: CustomerInvitationOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(invitation_list_open(customer=request.user.customer))
        return self.get_paginated_response(CustomerInvitationOutput(page, many=True).data)
