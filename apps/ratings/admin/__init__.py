"""Staff moderation in the admin. Every status change goes through ``rating_moderate`` (or
``reply_moderate`` for replies); no admin form can write a rating's or reply's status or text.

The pages are split by what they show (``ratings``: the queue and a rating's page; ``records``:
reports, replies, votes, decisions, invitations, summaries); importing them registers them.
"""

from apps.ratings.admin import ratings, records
from apps.ratings.admin.common import REASON_REQUIRED

__all__ = ["REASON_REQUIRED", "ratings", "records"]
