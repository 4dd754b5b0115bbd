"""The ratings domain: summaries, automatic holds, the edit window, partner invitations."""

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

from config.env import env

# Bayesian average = (PRIOR_WEIGHT * PRIOR_MEAN + sum) / (PRIOR_WEIGHT + count)
RATING_BAYES_PRIOR_MEAN = env.float("RATING_BAYES_PRIOR_MEAN", default=3.5)
RATING_BAYES_PRIOR_WEIGHT = env.int("RATING_BAYES_PRIOR_WEIGHT", default=5)
# Automatic hold: a new rating (or an edited comment) that trips one of these rules waits in
# pending_review for staff instead of being published.
RATING_HOLD_LINKS = env.bool("RATING_HOLD_LINKS", default=True)
RATING_HOLD_EMAILS = env.bool("RATING_HOLD_EMAILS", default=True)
RATING_HOLD_PHONES = env.bool("RATING_HOLD_PHONES", default=True)
RATING_HOLD_WORDS = env.list("RATING_HOLD_WORDS", default=[])
# How long after its creation the author may still change a rating's score or comment (an ISO
# 8601 duration such as P30D, or "3 days 04:00:00"); deleting it stays allowed after that.
RATING_EDIT_WINDOW = parse_duration(env("RATING_EDIT_WINDOW", default="P30D"))
if RATING_EDIT_WINDOW is None or timedelta(0) >= RATING_EDIT_WINDOW:
    raise ImproperlyConfigured("RATING_EDIT_WINDOW must be a positive duration, such as P30D.")
# A search (`q`) listed most relevant first ranks this many of its matches, the newest: ranking
# costs time linear in the matches it ranks, and a common word matches a large share of a big
# provider's ratings. Other orderings list every match.
RATING_SEARCH_RANKED_MATCHES = env.int("RATING_SEARCH_RANKED_MATCHES", default=1000)
if RATING_SEARCH_RANKED_MATCHES < 1:
    raise ImproperlyConfigured("RATING_SEARCH_RANKED_MATCHES must be at least 1.")
# Partner invitations to a verified rating: usable for this many seconds after they are made.
RATING_INVITATION_TTL = env.int("RATING_INVITATION_TTL", default=30 * 24 * 3600)
# One reminder goes to the customer this many seconds after an invitation was made, if it was
# neither used nor revoked (and has not expired); 0 sends none. The sweep runs every
# RATING_INVITATION_REMINDER_INTERVAL seconds (ratings.invitation_reminders_send).
RATING_INVITATION_REMINDER_DELAY = env.int("RATING_INVITATION_REMINDER_DELAY", default=3 * 24 * 3600)
RATING_INVITATION_REMINDER_INTERVAL = env.float("RATING_INVITATION_REMINDER_INTERVAL", default=300.0)
# Partner keys (apps/partners): a rotated key's old secret keeps working this many seconds; the
# keys' use (last used, request count), counted in Redis, is written to their rows this often.
PARTNER_KEY_ROTATION_GRACE = env.int("PARTNER_KEY_ROTATION_GRACE", default=24 * 3600)
PARTNER_KEY_USAGE_FLUSH_INTERVAL = env.float("PARTNER_KEY_USAGE_FLUSH_INTERVAL", default=60.0)
# The link of the invitation email, to the client application's rating form; {invitation_id}
# and {provider_id} are filled in (the form posts them to the API with the customer's token).
RATING_INVITATION_URL = env(
    "RATING_INVITATION_URL", default="http://localhost:8000/rate?invitation={invitation_id}&provider={provider_id}"
)
