"""Every write to ratings, each in one transaction with the summary change and its event."""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings import signals
from apps.ratings.content_rules import hold_reasons
from apps.ratings.models import (
    ModerationDecision,
    PartnerAPIKey,
    Rating,
    RatingHelpfulVote,
    RatingInvitation,
    RatingReply,
    RatingReport,
    RatingRevision,
    RatingStatus,
    RatingSummary,
    ReportStatus,
    RevisionKind,
)

COMMENT_EXCERPT_LENGTH = 140
AUTOMATIC_HOLD_PREFIX = "Automatic hold: "


class AlreadyRated(Conflict):
    default_code = "already_rated"
    default_detail = "You have already rated this provider."


class StatusUnchanged(Conflict):
    default_code = "status_unchanged"
    default_detail = "The rating already has this status."


class ReasonRequired(ApplicationError):
    default_code = "reason_required"
    default_detail = "Hiding a rating needs a reason."


class AlreadyReported(Conflict):
    default_code = "already_reported"
    default_detail = "You have already reported this rating."


class CannotReportOwnRating(PermissionDenied):
    default_code = "cannot_report_own_rating"
    default_detail = "You cannot report your own rating."


class ReportAlreadyResolved(Conflict):
    default_code = "report_already_resolved"
    default_detail = "This report has already been resolved."


class AlreadyInvited(Conflict):
    default_code = "already_invited"
    default_detail = "An invitation with this external reference already exists for this provider."


class EditWindowClosed(PermissionDenied):
    default_code = "edit_window_closed"
    default_detail = "This rating can no longer be changed: the edit window has closed."


class CannotVoteOwnRating(PermissionDenied):
    default_code = "cannot_vote_own_rating"
    default_detail = "You cannot vote on your own rating or on a rating of you."


class InvalidInvitation(ApplicationError):
    default_code = "invalid_invitation"
    default_detail = "The invitation does not belong to this customer and provider."


class InvitationExpired(ApplicationError):
    default_code = "invitation_expired"
    default_detail = "This invitation has expired."


class InvitationRevoked(ApplicationError):
    default_code = "invitation_revoked"
    default_detail = "This invitation was revoked by the partner that made it."


class InvitationUsed(Conflict):
    default_code = "invitation_used"
    default_detail = "This invitation has already verified a rating."


def _invitation_claim(*, invitation: RatingInvitation, customer_id, provider_id) -> RatingInvitation:
    """Lock the invitation, check it may verify a rating of this customer for this provider
    now, and mark it used (in the caller's transaction, so a failed rating leaves it unused).

    Invitations are locked before ratings everywhere, so two writers never deadlock.
    """
    locked = RatingInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.customer_id != customer_id or locked.provider_id != provider_id:
        raise InvalidInvitation()
    if locked.used_at is not None:
        raise InvitationUsed()
    if locked.revoked_at is not None:
        raise InvitationRevoked()
    now = timezone.now()
    if locked.expires_at <= now:
        raise InvitationExpired()
    locked.used_at = now
    locked.save(update_fields=["used_at"])
    return locked


def _summary_apply(
    *, provider_id, changes: Iterable[tuple[int, int]], verified_delta: int = 0
) -> dict[str, int] | None:
    """Add ``(score, +1|-1)`` changes to a provider's summary in one ``UPDATE … SET x = x + n``.

    Returns the summary after the change (``{count, sum}``: the events carry it) from the same
    statement's ``RETURNING``, or None when there was nothing to change. SQL rather than
    ``update()`` with ``F()``: Django's ``update()`` cannot return the new values, and a second
    query for them would be a round trip more for every rating.
    """
    deltas: dict[str, int] = {}
    for score, delta in changes:
        key = f"stars_{score}"
        deltas[key] = deltas.get(key, 0) + delta
        deltas["count"] = deltas.get("count", 0) + delta
        deltas["sum"] = deltas.get("sum", 0) + score * delta
    if verified_delta:
        deltas["verified_count"] = verified_delta
    if not deltas:
        return None
    table = RatingSummary._meta.db_table
    columns = [(RatingSummary._meta.get_field(name).column, delta) for name, delta in deltas.items()]
    assignments = ", ".join(f"{column} = {column} + %s" for column, _ in columns)
    sql = f"UPDATE {table} SET {assignments}, updated_at = %s WHERE provider_id = %s RETURNING count, sum"
    # Adapted as the ORM would: SQLite (the embedded default) takes neither a UUID nor an aware
    # datetime as they are.
    params = [
        *(delta for _, delta in columns),
        connection.ops.adapt_datetimefield_value(timezone.now()),
        RatingSummary._meta.pk.get_db_prep_value(provider_id, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            # First rating of this provider: create the row (racing creators are fine) and retry.
            RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return {"count": row[0], "sum": row[1]}


def _summary_of(provider_id) -> dict:
    """The provider's summary as this transaction sees it (after its own change): ``{count, sum}``."""
    row = RatingSummary.objects.filter(provider_id=provider_id).values("count", "sum").first()
    return row or {"count": 0, "sum": 0}


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


def _counted(rating: Rating) -> bool:
    return rating.status == RatingStatus.PUBLISHED


def _hold_reason(comment: str) -> str:
    reasons = hold_reasons(comment)
    return AUTOMATIC_HOLD_PREFIX + ", ".join(reasons) if reasons else ""


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
            verified_delta=delta * int(rating.verified),
        )
    ModerationDecision.objects.create(
        rating=rating, moderator=moderator, from_status=previous_status, to_status=to_status, reason=reason
    )
    if to_status == RatingStatus.HIDDEN and moderator is not None:
        # Hiding is the staff decision every open report on the rating was waiting for.
        rating.reports.filter(status=ReportStatus.OPEN).update(
            status=ReportStatus.UPHELD, resolved_by=moderator, resolved_at=timezone.now()
        )
    signals.rating_moderated.send(
        sender=Rating,
        event=_event(
            rating,
            previous_status=previous_status,
            reason=reason,
            moderator_id=str(moderator.pk) if moderator is not None else None,
            first_publication=first_publication,
            summary=summary or _summary_of(rating.provider_id),
        ),
    )
    return rating


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


@transaction.atomic
def rating_moderate(*, rating: Rating, to_status: str, reason: str = "", moderator: User | None) -> Rating:
    """The one way a rating changes status (published, pending_review, hidden).

    The summary follows (only published ratings count), an immutable ``ModerationDecision``
    records who, when, from → to and why, and ``rating_moderated`` is sent, all in one
    transaction. 409 ``status_unchanged`` if the rating already has ``to_status``; hiding needs
    a ``reason``. ``moderator`` is None for automatic rules.
    """
    return _transition(rating=_locked(rating), to_status=to_status, reason=reason, moderator=moderator)


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
        summary = _summary_apply(provider_id=provider.pk, changes=[(score, 1)], verified_delta=int(rating.verified))
    else:
        ModerationDecision.objects.create(
            rating=rating, moderator=None, from_status="", to_status=rating.status, reason=hold_reason
        )
    signals.rating_created.send(sender=Rating, event=_event(rating, summary=summary or _summary_of(provider.pk)))
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
        _summary_apply(provider_id=locked.provider_id, changes=[(previous_score, -1), (locked.score, 1)])
    signals.rating_updated.send(sender=Rating, event=_event(locked, previous_score=previous_score))
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
        _summary_apply(provider_id=locked.provider_id, changes=changes, verified_delta=int(not was_verified))
    signals.rating_updated.send(
        sender=Rating, event=_event(locked, previous_score=previous_score, previous_verified=was_verified)
    )
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
    event = _event(locked)
    if _counted(locked):
        _summary_apply(
            provider_id=locked.provider_id, changes=[(locked.score, -1)], verified_delta=-int(locked.verified)
        )
    locked.delete()
    signals.rating_deleted.send(sender=Rating, event=event)


@transaction.atomic
def report_create(*, rating: Rating, reporter: User, reason: str, details: str = "") -> RatingReport:
    """Report a rating to staff, once per user. 403 for its author, 409 ``already_reported``.

    The rating stays as it is until staff decide (``report_resolve`` or hiding it).
    """
    if rating.customer.user_id == reporter.pk:
        raise CannotReportOwnRating()
    report = RatingReport(rating=rating, reporter=reporter, reason=reason, details=details)
    report.full_clean(exclude=["rating", "reporter"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            report.save(force_insert=True)
    except IntegrityError as exc:
        raise AlreadyReported() from exc
    return report


@transaction.atomic
def report_resolve(*, report: RatingReport, upheld: bool, moderator: User, reason: str = "") -> RatingReport:
    """Staff decide a report: upheld hides the rating (through ``rating_moderate``), dismissed leaves it.

    409 ``report_already_resolved`` if the report is no longer open.
    """
    # Rating before report, the order rating_moderate takes them in, so the two never deadlock.
    rating = _locked(Rating(pk=report.rating_id))
    locked = RatingReport.objects.select_for_update().get(pk=report.pk)
    if locked.status != ReportStatus.OPEN:
        raise ReportAlreadyResolved()
    if upheld and rating.status != RatingStatus.HIDDEN:
        reason = reason.strip() or f"Report upheld: {locked.get_reason_display()}"
        # Marks this and every other open report on the rating upheld.
        _transition(rating=rating, to_status=RatingStatus.HIDDEN, reason=reason, moderator=moderator)
        locked.refresh_from_db()
        return locked
    locked.status = ReportStatus.UPHELD if upheld else ReportStatus.DISMISSED
    locked.resolved_by = moderator
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "resolved_by", "resolved_at"])
    return locked


def _reply_event(rating: Rating, reply: RatingReply, **extra) -> dict:
    return _event(
        rating,
        reply_id=str(reply.pk),
        reply_excerpt=reply.body[:COMMENT_EXCERPT_LENGTH],
        reply_status=reply.status,
        **extra,
    )


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
    signals.reply_moderated.send(
        sender=Rating,
        event=_reply_event(
            rating,
            reply,
            previous_reply_status=previous_status,
            reason=reason,
            moderator_id=str(moderator.pk) if moderator is not None else None,
            first_publication=first_publication,
        ),
    )
    if to_status == RatingStatus.PUBLISHED:
        signals.rating_replied.send(sender=Rating, event=_reply_event(rating, reply, reply_created=first_publication))
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
        if hold_reason:
            event = _reply_event(
                locked,
                reply,
                previous_reply_status="",
                reason=hold_reason,
                moderator_id=None,
                first_publication=False,
            )
            signals.reply_moderated.send(sender=Rating, event=event)
        else:
            signals.rating_replied.send(sender=Rating, event=_reply_event(locked, reply, reply_created=True))
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
    signals.rating_replied.send(sender=Rating, event=_reply_event(locked, reply, reply_created=False))
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


@transaction.atomic
def helpful_vote_add(*, rating: Rating, user: User) -> tuple[int, bool]:
    """``user`` finds a published rating helpful, once: ``(helpful_count, created)``.

    A repeated vote changes nothing and reports ``created=False``. 403
    ``cannot_vote_own_rating`` for the rating's author and for the rated provider; 404 if the
    rating is not published (also when it is hidden while the vote is being written).
    """
    if user.pk in (rating.customer.user_id, rating.provider.user_id):
        raise CannotVoteOwnRating()
    try:
        with transaction.atomic():
            RatingHelpfulVote.objects.create(rating_id=rating.pk, user=user)
    except IntegrityError:
        created = False
    else:
        created = True
        # The row lock this UPDATE takes orders concurrent votes; F() loses none of them.
        counted = Rating.objects.filter(pk=rating.pk, status=RatingStatus.PUBLISHED).update(
            helpful_count=F("helpful_count") + 1
        )
        if not counted:
            raise NotFound("Rating not found.")
    return Rating.objects.values_list("helpful_count", flat=True).get(pk=rating.pk), created


@transaction.atomic
def helpful_vote_remove(*, rating: Rating, user: User) -> int:
    """Withdraw ``user``'s helpful vote, if any; returns the rating's ``helpful_count``."""
    deleted, _ = RatingHelpfulVote.objects.filter(rating_id=rating.pk, user=user).delete()
    if deleted:
        Rating.objects.filter(pk=rating.pk).update(helpful_count=F("helpful_count") - 1)
    return Rating.objects.values_list("helpful_count", flat=True).get(pk=rating.pk)


@transaction.atomic
def invitation_create(
    *, customer: Customer, provider: Provider, external_reference: str, partner_key: PartnerAPIKey | None
) -> RatingInvitation:
    """A partner's invitation for ``customer`` to rate ``provider`` for one job (409 ``already_invited``).

    It can be used for ``RATING_INVITATION_TTL`` seconds from its creation; the customer is told
    through ``rating_invited`` (an inbox item and an email with a link to the rating form).
    """
    invitation = RatingInvitation(
        customer=customer,
        provider=provider,
        external_reference=external_reference,
        partner_key=partner_key,
    )
    invitation.full_clean(
        exclude=["customer", "provider", "partner_key"], validate_unique=False, validate_constraints=False
    )
    try:
        with transaction.atomic():
            invitation.save(force_insert=True)
    except IntegrityError as exc:
        raise AlreadyInvited() from exc
    customer_user, provider_user = customer.user, provider.user
    signals.rating_invited.send(
        sender=RatingInvitation,
        event={
            "invitation_id": str(invitation.pk),
            "provider_id": str(provider.pk),
            "provider_name": provider.name,
            "provider_user_id": str(provider_user.pk),
            "customer_id": str(customer.pk),
            "customer_user_id": str(customer_user.pk),
            "customer_name": customer_user.name,
            "customer_email": customer_user.email,
            "expires_at": invitation.expires_at.isoformat(),
            "url": settings.RATING_INVITATION_URL.format(invitation_id=invitation.pk, provider_id=provider.pk),
            "occurred_at": timezone.now().isoformat(),
        },
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: RatingInvitation) -> RatingInvitation:
    """The partner withdraws an invitation: it can no longer verify a rating.

    Revoking again changes nothing (the first revocation's time stays); an invitation that
    already verified a rating cannot be revoked (409 ``invitation_used``): the rating stays
    verified.
    """
    locked = RatingInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.used_at is not None:
        raise InvitationUsed("This invitation has already verified a rating; it cannot be revoked.")
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
    return locked


def rating_summaries_recompute(*, fix: bool = True) -> list[dict]:
    """Recompute every summary from the rating rows; returns the drifted ones (fixed if ``fix``).

    Each provider is recomputed under a lock on its summary row, so concurrent rating writes
    are neither lost nor double counted while the repair runs.
    """
    drifted = []
    provider_ids = Provider.objects.order_by("pk").values_list("pk", flat=True)
    for provider_id in provider_ids.iterator(chunk_size=1000):
        with transaction.atomic():
            # Every provider has a row (the directory inner-joins it): a missing one is drift
            # too, reported by a check and created by a fix.
            missing = not RatingSummary.objects.filter(provider_id=provider_id).exists()
            if fix:
                RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
            summary = RatingSummary.objects.select_for_update().filter(provider_id=provider_id).first()
            summary = summary or RatingSummary(provider_id=provider_id)
            expected = _expected_summary(provider_id)
            actual = {field: getattr(summary, field) for field in expected}
            if missing or actual != expected:
                drifted.append(
                    {"provider_id": str(provider_id), "expected": expected, "actual": actual, "missing": missing}
                )
                if fix:
                    RatingSummary.objects.filter(pk=provider_id).update(**expected, updated_at=timezone.now())
    return drifted


def _expected_summary(provider_id) -> dict:
    published = Rating.objects.filter(provider_id=provider_id, status=RatingStatus.PUBLISHED)
    return published.aggregate(
        count=Count("pk"),
        sum=Coalesce(Sum("score"), 0),
        verified_count=Count("pk", filter=Q(verified=True)),
        **{f"stars_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)},
    )
