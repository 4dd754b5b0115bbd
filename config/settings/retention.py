"""Retention (apps.core.retention, `manage.py purge_expired`)."""

from config.env import env

# Rows nothing needs any more are deleted by periodic purges; a *_DAYS of 0 keeps them forever.
# Never purged: undispatched or unconfirmed outbox events, pending/sending/retrying deliveries,
# and (unless their own setting says so) dead outbox events and dead deliveries, which wait
# for a replay. An inbox item goes only when every delivery of it was sent, together with them.
RETENTION_OUTBOX_CONFIRMED_DAYS = env.int("RETENTION_OUTBOX_CONFIRMED_DAYS", default=7)
RETENTION_OUTBOX_DEAD_DAYS = env.int("RETENTION_OUTBOX_DEAD_DAYS", default=0)
RETENTION_INBOX_READ_DAYS = env.int("RETENTION_INBOX_READ_DAYS", default=90)
RETENTION_INBOX_DAYS = env.int("RETENTION_INBOX_DAYS", default=365)
# Sent deliveries, counted from their last attempt (their log goes with them).
RETENTION_DELIVERIES_DAYS = env.int("RETENTION_DELIVERIES_DAYS", default=30)
RETENTION_DEAD_DELIVERIES_DAYS = env.int("RETENTION_DEAD_DELIVERIES_DAYS", default=0)
# Delivery log lines (one per request made) of sent deliveries; a dead or retrying delivery
# keeps its log, which says why.
RETENTION_DELIVERY_ATTEMPTS_DAYS = env.int("RETENTION_DELIVERY_ATTEMPTS_DAYS", default=14)
# Closed digests (hourly/daily new-rating emails), counted from their closing; while one is
# kept, a rating arriving that late for its period cannot make the period's email again.
RETENTION_DIGESTS_DAYS = env.int("RETENTION_DIGESTS_DAYS", default=30)
# Rows per batch, each batch one short transaction; pause between batches (seconds).
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
RETENTION_BATCH_PAUSE_SECONDS = env.float("RETENTION_BATCH_PAUSE_SECONDS", default=0.05)
# Seconds between periodic runs (beat), and the most one run works (well under
# CELERY_TASK_SOFT_TIME_LIMIT); the next run goes on where it stopped.
RETENTION_INTERVAL = env.float("RETENTION_INTERVAL", default=3600)
RETENTION_MAX_SECONDS = env.float("RETENTION_MAX_SECONDS", default=20)
