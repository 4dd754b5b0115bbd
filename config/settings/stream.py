"""The live inbox (Server-Sent Events)."""

from config.env import env

# The live inbox (GET /api/v1/notifications/stream/, Server-Sent Events; docs/notifications.md).
# Redis pub/sub channels are shared by every database of a server: this prefix keeps
# deployments (and test runs) sharing one Redis apart.
NOTIFICATIONS_STREAM_CHANNEL_PREFIX = env("NOTIFICATIONS_STREAM_CHANNEL_PREFIX", default="mr")
# A comment line this often keeps proxies from closing an idle stream; the stream also checks
# the database then (a missed pub/sub message costs at most this delay).
NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS = env.float("NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS", default=15)
# Without Redis (make run) or while it is down, the stream looks for new items this often.
NOTIFICATIONS_STREAM_POLL_SECONDS = env.float("NOTIFICATIONS_STREAM_POLL_SECONDS", default=1)
# Open streams per user, across every process (Redis; a crashed process's slots lapse).
NOTIFICATIONS_STREAM_MAX_PER_USER = env.int("NOTIFICATIONS_STREAM_MAX_PER_USER", default=5)
# A stream ends after this long (or when its access token expires, if sooner); the client
# reconnects with Last-Event-ID and misses nothing.
NOTIFICATIONS_STREAM_MAX_SECONDS = env.float("NOTIFICATIONS_STREAM_MAX_SECONDS", default=3600)
# At most this many missed items are replayed after a reconnect; past it a `reset` event tells
# the client to reload the list.
NOTIFICATIONS_STREAM_REPLAY_MAX = env.int("NOTIFICATIONS_STREAM_REPLAY_MAX", default=100)
# Items are stamped before their transaction commits, so one may become visible after a newer
# one was sent: items this much older than the last one sent are looked at again (sent at
# least once; clients drop repeats by item id).
NOTIFICATIONS_STREAM_SLACK_SECONDS = env.float("NOTIFICATIONS_STREAM_SLACK_SECONDS", default=5)
