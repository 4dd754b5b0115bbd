"""Celery: broker, queues, routes, limits and beat's schedule."""

from kombu import Queue

from config.celery_options import broker_transport_options
from config.env import VAR_DIR, env
from config.settings.delivery import NOTIFICATIONS_DIGEST_INTERVAL, NOTIFICATIONS_SWEEP_INTERVAL
from config.settings.i18n import TIME_ZONE
from config.settings.outbox import OUTBOX_RELAY_INTERVAL
from config.settings.ratings import PARTNER_KEY_USAGE_FLUSH_INTERVAL, RATING_INVITATION_REMINDER_INTERVAL
from config.settings.retention import RETENTION_INTERVAL

# The database is the source of truth (outbox, deliveries); the broker is the fast path. The
# embedded settings default to a filesystem (local) or in-memory (test) broker; production
# refuses to start without one.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="").strip()
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=30)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2)
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL,
    var_dir=VAR_DIR,
    socket_timeout=env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=3),
    hard_time_limit=CELERY_TASK_TIME_LIMIT,
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The remote-control queue (``<node>.celery.pidbox``, what `celery inspect ping` and so the probes
# reach) is exclusive to its connection by default. When the network to RabbitMQ drops, the
# broker keeps the old connection, and the queue with it, until it notices the loss (heartbeat);
# a worker that reconnects sooner is refused the queue (405 RESOURCE_LOCKED) and exits, which
# the broker-outage system test saw. Not exclusive, the queue is redeclared by the new
# connection and still deleted 10 s after its last consumer leaves (control_queue_expires).
CELERY_CONTROL_QUEUE_EXCLUSIVE = False
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport with atomic writes and claims (its own loses messages), whose
    # worker drops a malformed message as poison instead of dying on it.
    CELERY_BROKER_TRANSPORT = "config.celery_transports:FilesystemTransport"
# A request must not wait for a dead broker: one quick retry, then the outbox relay takes over.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_DEFAULT_QUEUE = "default"
# External sends (webhooks, email, push: notifications.deliver_batch) have a queue of their own, so
# ingest (event → inbox row) never waits behind a slow receiver or SMTP server; workers for it
# are I/O-bound (README "Celery roles"). Setting it to "notifications" puts them back together.
NOTIFICATIONS_DELIVERIES_QUEUE = env("NOTIFICATIONS_DELIVERIES_QUEUE", default="deliveries")
CELERY_TASK_QUEUES = tuple(
    Queue(name) for name in dict.fromkeys(["default", "notifications", NOTIFICATIONS_DELIVERIES_QUEUE])
)
CELERY_TASK_ROUTES = {
    "notifications.deliver": {"queue": NOTIFICATIONS_DELIVERIES_QUEUE},
    "notifications.deliver_batch": {"queue": NOTIFICATIONS_DELIVERIES_QUEUE},
    "notifications.*": {"queue": "notifications"},
    "accounts.*": {"queue": "default"},
    "core.*": {"queue": "default"},
    "partners.*": {"queue": "default"},
    "ratings.*": {"queue": "default"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep database connections across tasks (CONN_MAX_AGE decides, as for requests: see
# config/celery_app.py); Celery's fixup otherwise reconnects before and after every task. It
# still closes them all every CELERY_DB_REUSE_MAX tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {
        "task": "core.outbox_relay",
        "schedule": OUTBOX_RELAY_INTERVAL,
        "options": {"expires": OUTBOX_RELAY_INTERVAL * 2},
    },
    "notifications-deliveries-sweep": {
        "task": "notifications.deliveries_sweep",
        "schedule": NOTIFICATIONS_SWEEP_INTERVAL,
        "options": {"expires": NOTIFICATIONS_SWEEP_INTERVAL * 2},
    },
    "notifications-digests-close": {
        "task": "notifications.digests_close",
        "schedule": NOTIFICATIONS_DIGEST_INTERVAL,
        "options": {"expires": NOTIFICATIONS_DIGEST_INTERVAL * 2},
    },
    "core-retention-purge": {
        "task": "core.retention_purge",
        "schedule": RETENTION_INTERVAL,
        "options": {"expires": RETENTION_INTERVAL},
    },
    "notifications-retention-purge": {
        "task": "notifications.retention_purge",
        "schedule": RETENTION_INTERVAL,
        "options": {"expires": RETENTION_INTERVAL},
    },
    "partners-key-usage-flush": {
        "task": "partners.key_usage_flush",
        "schedule": PARTNER_KEY_USAGE_FLUSH_INTERVAL,
        "options": {"expires": PARTNER_KEY_USAGE_FLUSH_INTERVAL * 2},
    },
    "ratings-invitation-reminders": {
        "task": "ratings.invitation_reminders_send",
        "schedule": RATING_INVITATION_REMINDER_INTERVAL,
        "options": {"expires": RATING_INVITATION_REMINDER_INTERVAL * 2},
    },
}
