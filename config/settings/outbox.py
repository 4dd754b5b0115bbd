"""The outbox (publisher side, apps.core.outbox) and its dispatcher."""

from config.env import env

OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=5)
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=30)
# A consumer sharing the database takes a batch for this long (it confirms well before): if it
# dies, the batch is sent again once this lapses, not after the confirmation timeout below.
OUTBOX_TAKEN_LEASE_SECONDS = env.float("OUTBOX_TAKEN_LEASE_SECONDS", default=30)
# A dispatched event the consumer has not confirmed within this is sent again.
OUTBOX_CONFIRM_TIMEOUT_SECONDS = env.float("OUTBOX_CONFIRM_TIMEOUT_SECONDS", default=120)
# Most rows the beat relay (the safety net when no dispatcher runs) sends per run.
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=500)
# Rows claimed per transaction by outbox_dispatch; one task per batch and (task, queue).
OUTBOX_DISPATCH_BATCH = env.int("OUTBOX_DISPATCH_BATCH", default=200)
# After the first NOTIFY the dispatcher waits this long (seconds), or until this many more
# commits have notified, before it claims: one claim, one Celery message and one ingest
# transaction then carry every event committed meanwhile (batches grow with the load).
OUTBOX_DISPATCH_LINGER_SECONDS = env.float("OUTBOX_DISPATCH_LINGER_SECONDS", default=0.01)
OUTBOX_DISPATCH_LINGER_EVENTS = env.int("OUTBOX_DISPATCH_LINGER_EVENTS", default=100)
# An event sent this many times without the consumer's confirmation is marked dead.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
# ... and is at least this old: a consumer outage must not turn every event it spans dead.
OUTBOX_DEAD_AFTER_SECONDS = env.float("OUTBOX_DEAD_AFTER_SECONDS", default=86400)
# The dispatcher looks for due rows at least this often (seconds) besides waking on NOTIFY:
# rows to resend (unconfirmed) and rows whose NOTIFY it missed while reconnecting.
OUTBOX_DISPATCHER_POLL_SECONDS = env.float("OUTBOX_DISPATCHER_POLL_SECONDS", default=1.0)
# On SQLite (no LISTEN/NOTIFY) the dispatcher polls this often instead.
OUTBOX_DISPATCHER_SQLITE_POLL_SECONDS = env.float("OUTBOX_DISPATCHER_SQLITE_POLL_SECONDS", default=0.2)
# The dispatcher touches this file while its loop makes progress (at most once a second); the
# container's liveness probe (`bin/probe heartbeat`) fails when it goes stale. Empty: no file.
# The image sets it (docker/Dockerfile); Celery roles answer `celery inspect ping` instead.
OUTBOX_DISPATCHER_HEARTBEAT_FILE = env("OUTBOX_DISPATCHER_HEARTBEAT_FILE", default="")
# A consumer that shares the publisher's database confirms an event with one UPDATE instead of
# a task round trip through the broker; the notifications deployment (own database) sends it.
OUTBOX_CONFIRM_INLINE = env.bool("OUTBOX_CONFIRM_INLINE", default=True)
# On RabbitMQ the dispatcher's publishes wait for the broker's confirmation (publisher
# confirms), at most this long: a publish into a dropped connection then fails and is sent
# again at the next round, instead of counting as dispatched.
OUTBOX_PUBLISH_CONFIRM_TIMEOUT_SECONDS = env.float("OUTBOX_PUBLISH_CONFIRM_TIMEOUT_SECONDS", default=5.0)
