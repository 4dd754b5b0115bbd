"""Every write to ratings, each in one transaction with the summary change and its event.

One module per concern; the public names are re-exported here so callers import them from
``apps.ratings.services``.
"""

from apps.ratings.events import COMMENT_EXCERPT_LENGTH
from apps.ratings.services.common import AUTOMATIC_HOLD_PREFIX
from apps.ratings.services.erasure import ratings_user_erase
from apps.ratings.services.errors import (
    AlreadyInvited,
    AlreadyRated,
    AlreadyReported,
    CannotReportOwnRating,
    CannotVoteOwnRating,
    CompetitorCannotVote,
    EditWindowClosed,
    InvalidInvitation,
    InvitationExpired,
    InvitationRevoked,
    InvitationUsed,
    ReasonRequired,
    ReportAlreadyResolved,
    StatusUnchanged,
    VoteNeedsVerifiedEmail,
)
from apps.ratings.services.helpful_votes import helpful_vote_add, helpful_vote_remove, helpful_votes_withdraw_all
from apps.ratings.services.invitations import (
    INVITATION_REMINDER_EVENT,
    invitation_create,
    invitation_reminders_send,
    invitation_revoke,
    invitations_create_many,
)
from apps.ratings.services.moderation import rating_moderate
from apps.ratings.services.ratings import (
    rating_create,
    rating_delete,
    rating_edit_window_check,
    rating_update,
    rating_verify,
)
from apps.ratings.services.recompute import rating_summaries_recompute
from apps.ratings.services.replies import reply_delete, reply_moderate, reply_set
from apps.ratings.services.reports import report_create, report_resolve
from apps.ratings.services.summary import rating_summary_create

__all__ = [
    "AUTOMATIC_HOLD_PREFIX",
    "COMMENT_EXCERPT_LENGTH",
    "INVITATION_REMINDER_EVENT",
    "AlreadyInvited",
    "AlreadyRated",
    "AlreadyReported",
    "CannotReportOwnRating",
    "CannotVoteOwnRating",
    "CompetitorCannotVote",
    "EditWindowClosed",
    "InvalidInvitation",
    "InvitationExpired",
    "InvitationRevoked",
    "InvitationUsed",
    "ReasonRequired",
    "ReportAlreadyResolved",
    "StatusUnchanged",
    "VoteNeedsVerifiedEmail",
    "helpful_vote_add",
    "helpful_vote_remove",
    "helpful_votes_withdraw_all",
    "invitation_create",
    "invitation_reminders_send",
    "invitation_revoke",
    "invitations_create_many",
    "rating_create",
    "rating_delete",
    "rating_edit_window_check",
    "rating_moderate",
    "rating_summaries_recompute",
    "rating_summary_create",
    "rating_update",
    "rating_verify",
    "ratings_user_erase",
    "reply_delete",
    "reply_moderate",
    "reply_set",
    "report_create",
    "report_resolve",
]
