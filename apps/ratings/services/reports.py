"""Reports of a rating to staff and their resolution."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.ratings.models import (
    Rating,
    RatingReport,
    RatingStatus,
    ReportStatus,
)
from apps.ratings.services.common import _locked
from apps.ratings.services.errors import AlreadyReported, CannotReportOwnRating, ReportAlreadyResolved
from apps.ratings.services.moderation import _transition


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
