"""Notifications delivery: batches, leases, sweeps, digests; outbound HTTP, retries, breakers, webhooks."""

from config.env import env
from config.settings.site import PUBLIC_BASE_URL

# Absolute base URL put in emails (unsubscribe links); the app never sees its public host.
NOTIFICATIONS_PUBLIC_BASE_URL = env("NOTIFICATIONS_PUBLIC_BASE_URL", default=PUBLIC_BASE_URL)
NOTIFICATIONS_EMAIL_DOMAIN = env("NOTIFICATIONS_EMAIL_DOMAIN", default="marketplace-ratings.local")
# Every channel retries on one policy: OUTBOUND_RETRY_* and OUTBOUND_MAX_ATTEMPTS below.
# Deliveries to one destination (a webhook host, the SMTP relays, the push gateways) travel in
# groups of up to this many per task, sent over one connection.
NOTIFICATIONS_DELIVERY_BATCH = env.int("NOTIFICATIONS_DELIVERY_BATCH", default=50)
# A group stops starting new sends after this many seconds (the rest go back, due at once), so
# a task stays well inside CELERY_TASK_SOFT_TIME_LIMIT and its lease.
NOTIFICATIONS_BATCH_SECONDS = env.float("NOTIFICATIONS_BATCH_SECONDS", default=15)
# A group whose destination has no free concurrency slot (OUTBOUND_HOST_CONCURRENCY) is tried
# again this many seconds later, without spending an attempt.
NOTIFICATIONS_BUSY_RETRY_SECONDS = env.float("NOTIFICATIONS_BUSY_RETRY_SECONDS", default=2)
# After a group was sent, writing its outcome is retried through a database outage for this
# long, at most a second apart (nobody can take the rows over while the database is away).
NOTIFICATIONS_RECORD_RETRY_SECONDS = env.float("NOTIFICATIONS_RECORD_RETRY_SECONDS", default=60)
# A claimed delivery whose worker died is taken over after this lease (its worker renews it
# every third of it while it sends, so a long group keeps its rows).
NOTIFICATIONS_DELIVERY_LEASE_SECONDS = env.float("NOTIFICATIONS_DELIVERY_LEASE_SECONDS", default=15)
# Fresh pending deliveries are enqueued on commit; the sweeper only picks them up after this.
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.float("NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=30)
NOTIFICATIONS_SWEEP_INTERVAL = env.float("NOTIFICATIONS_SWEEP_INTERVAL", default=10)
# Seconds between beat's closing of ended digest periods: a digest email leaves at most about
# this long after its period ends (later if the recipient's quiet hours hold it).
NOTIFICATIONS_DIGEST_INTERVAL = env.float("NOTIFICATIONS_DIGEST_INTERVAL", default=60)
# Push devices one user can register: every event of theirs is sent to each of them.
NOTIFICATIONS_MAX_DEVICES = env.int("NOTIFICATIONS_MAX_DEVICES", default=10)

# --- Outbound delivery (webhooks, push gateways) ------------------------------------------
# Secure defaults; local/test settings relax the two guards, production pins them.
OUTBOUND_REQUIRE_HTTPS = env.bool("OUTBOUND_REQUIRE_HTTPS", default=True)
OUTBOUND_ALLOW_LOOPBACK = env.bool("OUTBOUND_ALLOW_LOOPBACK", default=False)
OUTBOUND_CONNECT_TIMEOUT = env.float("OUTBOUND_CONNECT_TIMEOUT", default=3.0)
# Hard deadline (seconds) for one request: resolve + connect + send + read, not per socket op.
OUTBOUND_TOTAL_TIMEOUT = env.float("OUTBOUND_TOTAL_TIMEOUT", default=10.0)
OUTBOUND_MAX_RESPONSE_BYTES = env.int("OUTBOUND_MAX_RESPONSE_BYTES", default=64 * 1024)
# CA bundle for verifying receivers' certificates; empty = the system trust store.
OUTBOUND_CA_BUNDLE = env("OUTBOUND_CA_BUNDLE", default="") or None
# Sends in flight at once to one destination (a webhook origin: scheme, host, port), across all
# workers (Redis when REDIS_URL).
OUTBOUND_HOST_CONCURRENCY = env.int("OUTBOUND_HOST_CONCURRENCY", default=4)
# Of those, at most this many to one webhook endpoint (one while it is failing): a hanging
# endpoint holds its share and the other endpoints on its origin keep the rest.
OUTBOUND_ENDPOINT_CONCURRENCY = env.int("OUTBOUND_ENDPOINT_CONCURRENCY", default=2)
# Keep-alive: an idle connection to a receiver is reused for this many seconds; 0 = never.
OUTBOUND_KEEPALIVE_IDLE_SECONDS = env.float("OUTBOUND_KEEPALIVE_IDLE_SECONDS", default=30.0)
# Full-jitter backoff: the wait after attempt n is uniform(0, min(CAP, BASE * 2**(n-1))).
# With 60 s, 4 h and 20 attempts the caps of the 19 waits add up to ~48 h, so the expected
# (mean) span from first to last attempt is ~24 h and the longest possible one ~48 h.
OUTBOUND_RETRY_BASE_SECONDS = env.float("OUTBOUND_RETRY_BASE_SECONDS", default=60.0)
OUTBOUND_RETRY_CAP_SECONDS = env.float("OUTBOUND_RETRY_CAP_SECONDS", default=4 * 3600.0)
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=20)

# Circuit breakers (one per webhook endpoint, webhook origin and delivery provider, and one for
# the EMAIL_URL relay), state in REDIS_URL when set.
BREAKER_FAIL_MAX = env.int("BREAKER_FAIL_MAX", default=5)
# Seconds an opened breaker waits before its first half-open trial; each failed trial doubles
# the wait, up to BREAKER_RESET_MAX_TIMEOUT, and a successful one starts over. Short first, so
# a destination back after a blink gets its waiting deliveries within seconds; capped, so one
# down for hours is tried at most once per cap.
BREAKER_RESET_TIMEOUT = env.float("BREAKER_RESET_TIMEOUT", default=10.0)
BREAKER_RESET_MAX_TIMEOUT = env.float("BREAKER_RESET_MAX_TIMEOUT", default=60.0)
BREAKER_KEY_PREFIX = env("BREAKER_KEY_PREFIX", default="mr-breaker")
# A destination that failed fewer than BREAKER_FAIL_MAX times (its breaker stayed closed) and
# answers again: the deliveries waiting out a backoff because of its failures are due at once,
# released by one worker per destination per this many seconds (the others find it claimed).
BREAKER_RELEASE_INTERVAL = env.float("BREAKER_RELEASE_INTERVAL", default=5.0)
# A webhook endpoint's own breaker (its timeouts and HTTP errors) waits this long before its
# trial (growing the same way, capped at the larger of this and BREAKER_RESET_MAX_TIMEOUT).
# Keep it longer than BREAKER_RESET_MAX_TIMEOUT: an endpoint whose failure spent its origin's
# half-open trial is held until the origin heals or this lapses, so while the origin keeps
# failing it takes at most BREAKER_RESET_MAX_TIMEOUT / this share of the origin's trials and
# other endpoints there get the chance to show the origin healthy.
WEBHOOK_ENDPOINT_RESET_TIMEOUT = env.float("WEBHOOK_ENDPOINT_RESET_TIMEOUT", default=300.0)
# Timeouts and HTTP errors count against their endpoint; they hold the whole origin only when
# at least this many distinct endpoints of this many distinct owners failed there within the
# window (seconds). Two owners: one tenant (who may register several endpoints) can never hold
# the others; three endpoints: two coincidences are not an outage.
WEBHOOK_ORIGIN_QUORUM_OWNERS = env.int("WEBHOOK_ORIGIN_QUORUM_OWNERS", default=2)
WEBHOOK_ORIGIN_QUORUM_ENDPOINTS = env.int("WEBHOOK_ORIGIN_QUORUM_ENDPOINTS", default=3)
WEBHOOK_ORIGIN_QUORUM_WINDOW = env.float("WEBHOOK_ORIGIN_QUORUM_WINDOW", default=60.0)

# Webhook endpoints: an endpoint whose attempts have all failed for this long (seconds) is
# disabled and its owner told in the inbox; after a secret rotation the previous secret still
# signs (a second signature) for WEBHOOK_SECRET_GRACE seconds.
WEBHOOK_DISABLE_AFTER = env.float("WEBHOOK_DISABLE_AFTER", default=3 * 86400.0)
WEBHOOK_SECRET_GRACE = env.float("WEBHOOK_SECRET_GRACE", default=86400.0)
# The marketplace's own notice types, sent through POST /api/v1/notifications/triggers/ (JSON:
# {"custom.<key>": {"label": "…", "channels": ["in_app", "email", "push"]}}); "channels" are
# those on by default, each recipient can switch any of them. Both deployments must agree.
NOTIFICATIONS_CUSTOM_TYPES = env.json(
    "NOTIFICATIONS_CUSTOM_TYPES",
    default={"custom.message": {"label": "Message from your marketplace", "channels": ["in_app", "email"]}},
)
