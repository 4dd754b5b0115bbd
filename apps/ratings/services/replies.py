"""The provider's one reply to a rating, under the same content rules and moderation."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.ratings import events
from apps.ratings.models import (
    Rating,
    RatingReply,
    RatingStatus,
)
from apps.ratings.services.common import _hold_reason, _locked
from apps.ratings.services.errors import ReasonRequired, StatusUnchanged
from apps.ratings.services.summary import _counted, _summary_apply


def _first_reply_record(*, rating: Rating, reply: RatingReply) -> None:
    """Keep how long the provider took to answer ``rating`` publicly, the first time it did.

    Counted from the rating's first publication (the provider can only answer a public rating),
    to the reply's first publication: a reply held for review counts from when staff released
    it. Kept once set, so a reply replaced or deleted later does not rewrite the history the
    provider's reply rate and median time to reply are read from.
    """
    if rating.first_reply_delay is not None or reply.first_published_at is None:
        return
    since = rating.first_published_at or rating.created_at
    rating.first_reply_delay = max(reply.first_published_at - since, timedelta(0))
    Rating.objects.filter(pk=rating.pk, first_reply_delay__isnull=True).update(
        first_reply_delay=rating.first_reply_delay
    )
    if _counted(rating):
        _summary_apply(provider_id=rating.provider_id, changes=[], rated_at=rating.created_at, replied_delta=1)


def _reply_transition(
    *, rating: Rating, reply: RatingReply, to_status: str, reason: str, moderator: User | None
) -> RatingReply:
    """Move a reply (its rating locked by the caller) to ``to_status`` and publish the decision.

    The rating's author hears of the reply (``rating_replied``) the moment it becomes public.
    """
    previous_status = reply.status
    if to_status == previous_status:
        raise StatusUnchanged("The reply already has this status.")
    if to_status == RatingStatus.HIDDEN and not reason.strip():
        raise ReasonRequired("Hiding a reply needs a reason.")
    reply.status = to_status
    reply.moderation_reason = "" if to_status == RatingStatus.PUBLISHED else reason
    fields = ["status", "moderation_reason", "updated_at"]
    first_publication = to_status == RatingStatus.PUBLISHED and reply.first_published_at is None
    if first_publication:
        reply.first_published_at = timezone.now()
        fields.append("first_published_at")
    reply.save(update_fields=fields)
    _first_reply_record(rating=rating, reply=reply)
    events.publish(
        events.ReplyModerated.of_reply(
            rating,
            reply,
            previous_reply_status=previous_status,
            reason=reason,
            moderator_id=str(moderator.pk) if moderator is not None else None,
            first_publication=first_publication,
        )
    )
    if to_status == RatingStatus.PUBLISHED:
        events.publish(events.RatingReplied.of_reply(rating, reply, reply_created=first_publication))
    return reply


@transaction.atomic
def reply_set(*, rating: Rating, body: str) -> RatingReply:
    """Create or replace the provider's one reply, under the content rules of a rating's comment.

    A clean new reply is published and the rating's author is told (``rating_replied``); one
    whose body trips an automatic hold rule waits in ``pending_review`` (not public, the author
    not told) until staff publish it. A published reply edited into such content goes back to
    review; a held or hidden reply keeps its status whatever the edit (only staff release it).
    """
    locked = _locked(rating)
    # The rating's lock serializes every writer of its one reply.
    reply = RatingReply.objects.filter(rating=locked).first()
    hold_reason = _hold_reason(body)
    if reply is None:
        reply = RatingReply(
            rating=locked,
            body=body,
            status=RatingStatus.PENDING_REVIEW if hold_reason else RatingStatus.PUBLISHED,
            moderation_reason=hold_reason,
            first_published_at=None if hold_reason else timezone.now(),
        )
        reply.full_clean(exclude=["rating"], validate_unique=False, validate_constraints=False)
        reply.save(force_insert=True)
        _first_reply_record(rating=locked, reply=reply)
        if hold_reason:
            event = events.ReplyModerated.of_reply(
                locked,
                reply,
                previous_reply_status="",
                reason=hold_reason,
                moderator_id=None,
                first_publication=False,
            )
            events.publish(event)
        else:
            events.publish(events.RatingReplied.of_reply(locked, reply, reply_created=True))
        return reply
    if reply.body == body:
        return reply
    reply.body = body
    reply.full_clean(exclude=["rating"], validate_unique=False, validate_constraints=False)
    reply.save(update_fields=["body", "updated_at"])
    if reply.status != RatingStatus.PUBLISHED:
        return reply
    if hold_reason:
        return _reply_transition(
            rating=locked, reply=reply, to_status=RatingStatus.PENDING_REVIEW, reason=hold_reason, moderator=None
        )
    events.publish(events.RatingReplied.of_reply(locked, reply, reply_created=False))
    return reply


@transaction.atomic
def reply_moderate(*, reply: RatingReply, to_status: str, reason: str = "", moderator: User | None) -> RatingReply:
    """The one way staff change a reply's status (published, pending_review, hidden).

    409 ``status_unchanged`` if it already has ``to_status``; hiding needs a ``reason``. Becoming
    public tells the rating's author (``rating_replied``, ``reply_created`` on the first time).
    """
    rating = _locked(Rating(pk=reply.rating_id))
    locked = RatingReply.objects.select_for_update().get(pk=reply.pk)
    return _reply_transition(rating=rating, reply=locked, to_status=to_status, reason=reason, moderator=moderator)


@transaction.atomic
def reply_delete(*, rating: Rating) -> None:
    """Remove the provider's reply, if there is one."""
    RatingReply.objects.filter(rating_id=rating.pk).delete()
