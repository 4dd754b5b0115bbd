"""The ratings services' errors: each an HTTP status and a code in the one error shape."""

from apps.core.exceptions import ApplicationError, Conflict, PermissionDenied


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


class VoteNeedsVerifiedEmail(PermissionDenied):
    default_code = "email_not_verified"
    default_detail = "Confirm your email address before voting."


class CompetitorCannotVote(PermissionDenied):
    default_code = "competitor_cannot_vote"
    default_detail = "A provider cannot vote on ratings of providers in its own service category."


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
