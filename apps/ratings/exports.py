"""The ratings app's sections of a user's data export (``apps.core.exports``)."""

from apps.ratings.models import Rating, RatingHelpfulVote, RatingReply, RatingReport


def _iso(value):
    return value.isoformat() if value is not None else None


def ratings_export(user) -> list[dict]:
    """The ratings the user wrote as a customer, with their replies' public status."""
    rows = Rating.objects.filter(customer__user=user).select_related("provider").order_by("created_at", "id")
    return [
        {
            "id": str(r.pk),
            "provider_id": str(r.provider_id),
            "provider_name": r.provider.name,
            "score": r.score,
            "comment": r.comment,
            "status": r.status,
            "verified": r.verified,
            "created_at": _iso(r.created_at),
            "edited_at": _iso(r.edited_at),
        }
        for r in rows
    ]


def replies_export(user) -> list[dict]:
    """The replies the user wrote as a provider."""
    rows = RatingReply.objects.filter(rating__provider__user=user).order_by("created_at", "id")
    return [
        {
            "id": str(r.pk),
            "rating_id": str(r.rating_id),
            "body": r.body,
            "status": r.status,
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
        }
        for r in rows
    ]


def helpful_votes_export(user) -> list[dict]:
    rows = RatingHelpfulVote.objects.filter(user=user).order_by("created_at", "id")
    return [{"rating_id": str(v.rating_id), "created_at": _iso(v.created_at)} for v in rows]


def reports_export(user) -> list[dict]:
    rows = RatingReport.objects.filter(reporter=user).order_by("created_at", "id")
    return [
        {
            "rating_id": str(r.rating_id),
            "reason": r.reason,
            "details": r.details,
            "status": r.status,
            "created_at": _iso(r.created_at),
        }
        for r in rows
    ]
