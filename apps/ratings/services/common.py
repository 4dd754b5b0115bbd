"""What several ratings services share: the event payload, the hold rule, the history row, the row lock."""

from django.utils import timezone

from apps.accounts.models import User
from apps.ratings.content_rules import hold_reasons
from apps.ratings.models import (
    Rating,
    RatingReply,
    RatingRevision,
)

COMMENT_EXCERPT_LENGTH = 140


AUTOMATIC_HOLD_PREFIX = "Automatic hold: "


def _event(rating: Rating, **extra) -> dict:
    provider, customer = rating.provider, rating.customer
    return {
        "rating_id": str(rating.pk),
        "provider_id": str(provider.pk),
        "provider_user_id": str(provider.user_id),
        "provider_name": provider.name,
        "provider_email": provider.user.email,
        "provider_user_active": provider.user.is_active,
        "customer_id": str(customer.pk),
        "customer_user_id": str(customer.user_id),
        "customer_name": customer.user.name,
        "customer_email": customer.user.email,
        "customer_user_active": customer.user.is_active,
        "score": rating.score,
        "comment_excerpt": rating.comment[:COMMENT_EXCERPT_LENGTH],
        "status": rating.status,
        "verified": rating.verified,
        "occurred_at": timezone.now().isoformat(),
        **extra,
    }


def _reply_event(rating: Rating, reply: RatingReply, **extra) -> dict:
    return _event(
        rating,
        reply_id=str(reply.pk),
        reply_excerpt=reply.body[:COMMENT_EXCERPT_LENGTH],
        reply_status=reply.status,
        **extra,
    )


def _hold_reason(comment: str) -> str:
    reasons = hold_reasons(comment)
    return AUTOMATIC_HOLD_PREFIX + ", ".join(reasons) if reasons else ""


def _revision_record(*, rating: Rating, kind: str, changed_by: User | None) -> None:
    """Keep ``rating`` as it is now (before the caller changes it) in its history."""
    RatingRevision.objects.create(
        rating=rating,
        kind=kind,
        score=rating.score,
        comment=rating.comment,
        status=rating.status,
        changed_by=changed_by,
    )


def _locked(rating: Rating) -> Rating:
    return Rating.objects.select_for_update().select_related("provider__user", "customer__user").get(pk=rating.pk)
