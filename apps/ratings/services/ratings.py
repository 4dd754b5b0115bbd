"""A rating's life: created, edited, verified by an invitation, deleted."""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings import events
from apps.ratings.models import (
    ModerationDecision,
    Rating,
    RatingInvitation,
    RatingStatus,
    RevisionKind,
)
from apps.ratings.services.common import _hold_reason, _locked, _revision_record
from apps.ratings.services.errors import AlreadyRated, EditWindowClosed
from apps.ratings.services.invitations import _invitation_claim
from apps.ratings.services.moderation import _transition
from apps.ratings.services.summary import _counted, _summary_apply, _summary_of


@transaction.atomic
def rating_create(
    *,
    customer: Customer,
    provider: Provider,
    score: int,
    comment: str = "",
    invitation: RatingInvitation | None = None,
) -> Rating:
    """Rate ``provider`` once. 409 ``already_rated`` if ``customer`` already did, even under races.

    A comment that trips an automatic hold rule puts the rating in ``pending_review`` (not
    counted, not public) instead of publishing it. A rating made through a partner
    ``invitation`` for this customer and provider is ``verified``. The unique constraint is
    the only duplicate check: a pre-check query would cost every rating a round trip and still
    need the constraint for concurrent requests.
    """
    if invitation is not None:
        invitation = _invitation_claim(invitation=invitation, customer_id=customer.pk, provider_id=provider.pk)
    hold_reason = _hold_reason(comment)
    rating = Rating(
        customer=customer,
        provider=provider,
        score=score,
        comment=comment,
        # The author's language (loaded with the signed-in user): what the comment is searched in.
        language=customer.user.locale,
        invitation=invitation,
        verified=invitation is not None,
        status=RatingStatus.PENDING_REVIEW if hold_reason else RatingStatus.PUBLISHED,
        moderation_reason=hold_reason,
        first_published_at=None if hold_reason else timezone.now(),
    )
    rating.full_clean(exclude=["customer", "provider", "invitation"], validate_unique=False, validate_constraints=False)
    try:
        # No savepoint of its own (two round trips): on a conflict nothing more runs in this
        # transaction, and leaving this function's atomic() with the error rolls it back.
        rating.save(force_insert=True)
    except IntegrityError as exc:
        # A concurrent request from the same customer committed first (the invitation, bound to
        # this customer and provider, can only have been used by that same rating).
        raise AlreadyRated() from exc
    summary = None
    if _counted(rating):
        summary = _summary_apply(
            provider_id=provider.pk,
            changes=[(score, 1)],
            rated_at=rating.created_at,
            verified_delta=int(rating.verified),
        )
    else:
        ModerationDecision.objects.create(
            rating=rating, moderator=None, from_status="", to_status=rating.status, reason=hold_reason
        )
    events.publish(events.RatingCreated.of(rating, summary=summary or _summary_of(provider.pk)))
    # A new rating has no reply yet: say so in the reverse one-to-one cache, so the response
    # does not spend a query to find that out.
    Rating.reply.related.set_cached_value(rating, None)
    return rating


_UNSET = object()


def rating_edit_window_check(*, rating: Rating, now: datetime | None = None) -> None:
    """403 ``edit_window_closed`` once ``RATING_EDIT_WINDOW`` has passed since the rating was created.

    The one place the window is decided; ``rating_update`` applies it unless its caller is a
    path the window does not concern (``enforce_edit_window=False``).
    """
    if (now or timezone.now()) - rating.created_at > settings.RATING_EDIT_WINDOW:
        raise EditWindowClosed()


@transaction.atomic
def rating_update(
    *, rating: Rating, score=_UNSET, comment=_UNSET, editor: User | None = None, enforce_edit_window: bool = True
) -> Rating:
    """Change score and/or comment; the summary moves by the difference while the rating is published.

    Within ``RATING_EDIT_WINDOW`` of its creation only (403 ``edit_window_closed``, nothing
    changed), unless ``enforce_edit_window`` is False: a path that changes the rating for
    another reason than the author's second thoughts (a partner's invitation verifying it)
    skips the window. The rating as it was is kept as a ``RatingRevision`` by ``editor``.

    A published rating whose new comment trips an automatic hold rule goes back to
    ``pending_review``: otherwise a clean comment could be published and then edited into a
    link or phone number, which is exactly what the rules exist to stop. A held or hidden
    rating keeps its status whatever the edit: only staff release it.
    """
    locked = _locked(rating)
    if enforce_edit_window:
        rating_edit_window_check(rating=locked)
    changes = {}
    if score is not _UNSET and score != locked.score:
        changes["score"] = score
    if comment is not _UNSET and comment != locked.comment:
        changes["comment"] = comment
    if not changes:
        return locked
    previous_score = locked.score
    # The rating as it was, before the change (an invalid change rolls it back with the rest).
    _revision_record(rating=locked, kind=RevisionKind.EDIT, changed_by=editor)
    for field, value in changes.items():
        setattr(locked, field, value)
    fields = list(changes)
    locked.full_clean(exclude=["customer", "provider"], validate_unique=False, validate_constraints=False)
    locked.edited_at = timezone.now()
    locked.save(update_fields=[*fields, "edited_at", "updated_at"])
    if "score" in fields and _counted(locked):
        _summary_apply(
            provider_id=locked.provider_id,
            changes=[(previous_score, -1), (locked.score, 1)],
            rated_at=locked.created_at,
        )
    events.publish(events.RatingUpdated.of(locked, previous_score=previous_score))
    if "comment" in fields and locked.status == RatingStatus.PUBLISHED:
        hold_reason = _hold_reason(locked.comment)
        if hold_reason:
            _transition(rating=locked, to_status=RatingStatus.PENDING_REVIEW, reason=hold_reason, moderator=None)
    return locked


@transaction.atomic
def rating_verify(*, rating: Rating, invitation: RatingInvitation, score=_UNSET, comment=_UNSET) -> Rating:
    """Verify the customer's existing rating with a partner invitation, changing score and/or
    comment in the same step; the summary's ``verified_count`` follows.

    The only way an invitation changes an existing rating (a later job by the same provider),
    kept apart from ``rating_update`` so that rules for ordinary author edits need not apply
    to it. 400 ``invitation_expired`` / ``invitation_revoked``, 409 ``invitation_used``.
    """
    claimed = _invitation_claim(invitation=invitation, customer_id=rating.customer_id, provider_id=rating.provider_id)
    locked = _locked(rating)
    previous_score, was_verified = locked.score, locked.verified
    edits = {}
    if score is not _UNSET and score != locked.score:
        edits["score"] = score
    if comment is not _UNSET and comment != locked.comment:
        edits["comment"] = comment
    if edits:
        # The author's own change, made with the invitation: kept in the history like any edit
        # (the edit window does not apply: the invitation is the occasion for it).
        _revision_record(rating=locked, kind=RevisionKind.EDIT, changed_by=locked.customer.user)
        locked.edited_at = timezone.now()
    for field, value in edits.items():
        setattr(locked, field, value)
    locked.invitation, locked.verified = claimed, True
    fields = ["invitation", "verified", *edits, *(["edited_at"] if edits else [])]
    locked.full_clean(exclude=["customer", "provider", "invitation"], validate_unique=False, validate_constraints=False)
    locked.save(update_fields=[*fields, "updated_at"])
    if _counted(locked):
        changes = [(previous_score, -1), (locked.score, 1)] if "score" in fields else []
        _summary_apply(
            provider_id=locked.provider_id,
            changes=changes,
            rated_at=locked.created_at,
            verified_delta=int(not was_verified),
        )
    events.publish(events.RatingUpdated.of(locked, previous_score=previous_score, previous_verified=was_verified))
    if "comment" in fields and locked.status == RatingStatus.PUBLISHED:
        hold_reason = _hold_reason(locked.comment)
        if hold_reason:
            _transition(rating=locked, to_status=RatingStatus.PENDING_REVIEW, reason=hold_reason, moderator=None)
    return locked


@transaction.atomic
def rating_delete(*, rating: Rating) -> None:
    """Delete a rating and take it out of the summary."""
    locked = (
        Rating.objects.select_for_update()
        .select_related("provider__user", "customer__user")
        .filter(pk=rating.pk)
        .first()
    )
    if locked is None:
        return
    event = events.RatingDeleted.of(locked)
    if _counted(locked):
        _summary_apply(
            provider_id=locked.provider_id,
            changes=[(locked.score, -1)],
            rated_at=locked.created_at,
            verified_delta=-int(locked.verified),
            replied_delta=-int(locked.first_reply_delay is not None),
        )
    locked.delete()
    events.publish(event)
