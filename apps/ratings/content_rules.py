"""Automatic hold rules: what in a comment makes a rating wait for staff instead of publishing.

The rules are switched on and off (and the word list set) in settings, from the environment:
``RATING_HOLD_LINKS``, ``RATING_HOLD_EMAILS``, ``RATING_HOLD_PHONES``, ``RATING_HOLD_WORDS``.
"""

import re

from django.conf import settings

_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|info|biz|ly|co)\b", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Seven or more digits, optionally led by "+" and split by spaces, dots, dashes or brackets.
_PHONE = re.compile(r"\+?\d(?:[\s().-]{0,2}\d){6,}")


def hold_reasons(comment: str) -> list[str]:
    """Why ``comment`` must be reviewed before publication; empty when it may be published."""
    reasons = []
    has_email = bool(_EMAIL.search(comment))
    if settings.RATING_HOLD_LINKS and _LINK.search(_EMAIL.sub(" ", comment)):
        reasons.append("contains a link")
    if settings.RATING_HOLD_EMAILS and has_email:
        reasons.append("contains an e-mail address")
    if settings.RATING_HOLD_PHONES and _PHONE.search(comment):
        reasons.append("contains a phone number")
    words = [w.strip() for w in settings.RATING_HOLD_WORDS if w.strip()]
    if words:
        pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
        if re.search(pattern, comment, re.I):
            reasons.append("contains a held word")
    return reasons
