"""Every write to ratings, each in one transaction with the summary change and its event."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.exceptions import Conflict
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings import signals
from apps.ratings.models import Rating, RatingStatus, RatingSummary

COMMENT_EXCERPT_LENGTH = 140


class AlreadyRated(Conflict):
    default_code = "already_rated"
    default_detail = "You have already rated this provider."


def _summary_apply(*, provider_id, changes: Iterable[tuple[int, int]], verified_delta: int = 0) -> None:
    """Add ``(score, +1|-1)`` changes to a provider's summary in one UPDATE with ``F()``."""
    updates: dict = {}
    count_delta = sum_delta = 0
    for score, delta in changes:
        key = f"stars_{score}"
        updates[key] = updates.get(key, F(key)) + delta
        count_delta += delta
        sum_delta += score * delta
    if not updates and not verified_delta:
        return
    updates.update(count=F("count") + count_delta, sum=F("sum") + sum_delta)
    if verified_delta:
        updates["verified_count"] = F("verified_count") + verified_delta
    updates["updated_at"] = timezone.now()
    summary = RatingSummary.objects.filter(provider_id=provider_id)
    if summary.update(**updates) == 0:
        # First rating of this provider: create the row (racing creators are fine) and retry.
        RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
        summary.update(**updates)


def _event(rating: Rating, **extra) -> dict:
    provider, customer = rating.provider, rating.customer
    return {
        "rating_id": str(rating.pk),
        "provider_id": str(provider.pk),
        "provider_user_id": str(provider.user_id),
        "provider_name": provider.name,
        "provider_email": provider.user.email,
        "customer_id": str(customer.pk),
        "customer_user_id": str(customer.user_id),
        "customer_name": customer.user.name,
        "score": rating.score,
        "comment_excerpt": rating.comment[:COMMENT_EXCERPT_LENGTH],
        "status": rating.status,
        "verified": rating.verified,
        "occurred_at": timezone.now().isoformat(),
        **extra,
    }


def _counted(rating: Rating) -> bool:
    return rating.status == RatingStatus.PUBLISHED


@transaction.atomic
def rating_create(*, customer: Customer, provider: Provider, score: int, comment: str = "") -> Rating:
    """Rate ``provider`` once. 409 ``already_rated`` if ``customer`` already did, even under races.

    The unique constraint is the only check: a pre-check query would cost every rating a
    round trip and still need the constraint for concurrent requests.
    """
    rating = Rating(customer=customer, provider=provider, score=score, comment=comment)
    rating.full_clean(exclude=["customer", "provider"], validate_unique=False, validate_constraints=False)
    try:
        # No savepoint of its own (two round trips): on a conflict nothing more runs in this
        # transaction, and leaving this function's atomic() with the error rolls it back.
        rating.save(force_insert=True)
    except IntegrityError as exc:
        # This customer already rated this provider (possibly a concurrent request).
        raise AlreadyRated() from exc
    if _counted(rating):
        _summary_apply(provider_id=provider.pk, changes=[(score, 1)], verified_delta=int(rating.verified))
    signals.rating_created.send(sender=Rating, event=_event(rating))
    return rating


_UNSET = object()


@transaction.atomic
def rating_update(*, rating: Rating, score=_UNSET, comment=_UNSET) -> Rating:
    """Change score and/or comment; the summary moves by the difference."""
    locked = Rating.objects.select_for_update().select_related("provider__user", "customer__user").get(pk=rating.pk)
    previous_score = locked.score
    fields = []
    if score is not _UNSET and score != locked.score:
        locked.score = score
        fields.append("score")
    if comment is not _UNSET and comment != locked.comment:
        locked.comment = comment
        fields.append("comment")
    if not fields:
        return locked
    locked.full_clean(exclude=["customer", "provider"], validate_unique=False, validate_constraints=False)
    locked.save(update_fields=[*fields, "updated_at"])
    if "score" in fields and _counted(locked):
        _summary_apply(provider_id=locked.provider_id, changes=[(previous_score, -1), (locked.score, 1)])
    signals.rating_updated.send(sender=Rating, event=_event(locked, previous_score=previous_score))
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


def rating_summaries_recompute(*, fix: bool = True) -> list[dict]:
    """Recompute every summary from the rating rows; returns the drifted ones (fixed if ``fix``).

    Each provider is recomputed under a lock on its summary row, so concurrent rating writes
    are neither lost nor double counted while the repair runs.
    """
    drifted = []
    provider_ids = Provider.objects.order_by("pk").values_list("pk", flat=True)
    for provider_id in provider_ids.iterator(chunk_size=1000):
        with transaction.atomic():
            RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
            summary = RatingSummary.objects.select_for_update().get(provider_id=provider_id)
            expected = _expected_summary(provider_id)
            actual = {field: getattr(summary, field) for field in expected}
            if actual != expected:
                drifted.append({"provider_id": str(provider_id), "expected": expected, "actual": actual})
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
