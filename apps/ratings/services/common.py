"""What several ratings services share: the hold rule, the history row, the row lock."""

from apps.accounts.models import User
from apps.ratings.content_rules import hold_reasons
from apps.ratings.models import (
    Rating,
    RatingRevision,
)

AUTOMATIC_HOLD_PREFIX = "Automatic hold: "


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
