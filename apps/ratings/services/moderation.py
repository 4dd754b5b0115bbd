"""Rating status changes (published, pending_review, hidden): the one transition every path takes."""

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.ratings import events
from apps.ratings.models import (
    ModerationDecision,
    Rating,
    RatingStatus,
    ReportStatus,
    RevisionKind,
)
from apps.ratings.services.common import _locked, _revision_record
from apps.ratings.services.errors import ReasonRequired, StatusUnchanged
from apps.ratings.services.summary import _counted, _summary_apply, _summary_of


def _transition(*, rating: Rating, to_status: str, reason: str, moderator: User | None) -> Rating:
    """Move a rating locked by the caller to ``to_status``: summary, history row and event, in its transaction."""
    previous_status = rating.status
    if to_status == previous_status:
        raise StatusUnchanged()
    if to_status == RatingStatus.HIDDEN and not reason.strip():
        raise ReasonRequired()
    was_counted = _counted(rating)
    _revision_record(rating=rating, kind=RevisionKind.MODERATION, changed_by=moderator)
    rating.status = to_status
    rating.moderation_reason = "" if to_status == RatingStatus.PUBLISHED else reason
    fields = ["status", "moderation_reason", "updated_at"]
    first_publication = to_status == RatingStatus.PUBLISHED and rating.first_published_at is None
    if first_publication:
        rating.first_published_at = timezone.now()
        fields.append("first_published_at")
    rating.save(update_fields=fields)
    summary = None
    if was_counted != _counted(rating):
        delta = 1 if _counted(rating) else -1
        summary = _summary_apply(
            provider_id=rating.provider_id,
            changes=[(rating.score, delta)],
            rated_at=rating.created_at,
            verified_delta=delta * int(rating.verified),
            replied_delta=delta * int(rating.first_reply_delay is not None),
        )
    ModerationDecision.objects.create(
        rating=rating, moderator=moderator, from_status=previous_status, to_status=to_status, reason=reason
    )
    if to_status == RatingStatus.HIDDEN and moderator is not None:
        # Hiding is the staff decision every open report on the rating was waiting for.
        rating.reports.filter(status=ReportStatus.OPEN).update(
            status=ReportStatus.UPHELD, resolved_by=moderator, resolved_at=timezone.now()
        )
    events.publish(
        events.RatingModerated.of(
            rating,
            previous_status=previous_status,
            reason=reason,
            moderator_id=str(moderator.pk) if moderator is not None else None,
            first_publication=first_publication,
            summary=summary or _summary_of(rating.provider_id),
        )
    )
    return rating


@transaction.atomic
def rating_moderate(*, rating: Rating, to_status: str, reason: str = "", moderator: User | None) -> Rating:
    """The one way a rating changes status (published, pending_review, hidden).

    The summary follows (only published ratings count), an immutable ``ModerationDecision``
    records who, when, from → to and why, and ``rating_moderated`` is sent, all in one
    transaction. 409 ``status_unchanged`` if the rating already has ``to_status``; hiding needs
    a ``reason``. ``moderator`` is None for automatic rules.
    """
    return _transition(rating=_locked(rating), to_status=to_status, reason=reason, moderator=moderator)
