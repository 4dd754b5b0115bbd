"""Settings shared by every deployment. Everything variable comes from one ``environ.Env``."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration
from kombu import Queue

from config.celery_options import broker_transport_options
from config.log_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# `.env` is a developer's convenience (git-ignored), read only on opt-in, cookiecutter-django's
# DJANGO_READ_DOT_ENV_FILE: a stray file on a server must not change what production runs with.
# The embedded settings (local, test) opt in by default; the real environment always wins.
READ_DOT_ENV_FILE = env.bool(
    "DJANGO_READ_DOT_ENV_FILE",
    default=os.environ.get("DJANGO_SETTINGS_MODULE") in ("config.settings.local", "config.settings.test"),
)
if READ_DOT_ENV_FILE:
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "rest_framework_api_key",
    "corsheaders",
    # Its system checks flag settings left in the pre-4.0 format.
    "csp",
]
LOCAL_APPS = [
    "apps.core",
    "apps.accounts",
    "apps.customers",
    "apps.providers",
    "apps.ratings",
    "apps.notifications",
    "apps.partners",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "apps.core.metrics.RequestMetricsMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    # Above the error-shape middleware so a browser on an allowed origin can read error bodies too.
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.errors.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------
# The embedded default is SQLite under var/, so `make run` needs no server.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# The notifications app can keep its tables in a database of its own (config/routers.py).
NOTIFICATIONS_DATABASE_URL = env("NOTIFICATIONS_DATABASE_URL", default="")
if NOTIFICATIONS_DATABASE_URL:
    DATABASES["notifications"] = env.db_url_config(NOTIFICATIONS_DATABASE_URL)
    DATABASE_ROUTERS = ["config.routers.NotificationsRouter"]
for _db in DATABASES.values():
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # On: after a PostgreSQL restart (or a failover) every kept connection is broken. Without
    # the check each web thread fails one request and each worker thread one task on it (the
    # deliveries then wait for their retry: 2 minutes to converge, measured). The check runs
    # before the first query of each request or task (close_old_connections arms it:
    # config/celery_app.py does that around every task). On PostgreSQL it usually costs no
    # round trip (apps/core/db/postgresql); CONN_HEALTH_CHECKS=false turns it off.
    _db["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "apps.core.db.postgresql"
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat write the same SQLite file. BEGIN IMMEDIATE takes the write lock
        # up front, so a busy database makes a transaction wait (timeout) instead of failing
        # at once with "database is locked" when a deferred one tries to upgrade; WAL lets
        # readers go on while one process writes.
        _db.setdefault("OPTIONS", {}).update(
            timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
        )
    elif env.bool("DB_POOL", default=False):
        # psycopg's pool (Django 5.1+) instead of one persistent connection per process.
        _db.update(CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
        _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": env.int("DB_POOL_MAX", default=4)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="mr"),
            # Redis answers within milliseconds on a LAN; a shorter wait bounds what a hung
            # Redis costs the requests that touch the cache (throttles, breakers).
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Account self-service (apps/accounts). A password reset token stops working after this many
# seconds, and at once when the password changes (Django's PasswordResetTokenGenerator hashes
# the password); an email verification token after ACCOUNT_EMAIL_VERIFY_TIMEOUT.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
ACCOUNT_EMAIL_VERIFY_TIMEOUT = env.int("ACCOUNT_EMAIL_VERIFY_TIMEOUT", default=7 * 24 * 3600)
# The links put in account emails; {uid} and {token} are filled in. They point at the client
# application, which posts both values to the API's confirm endpoints.
ACCOUNT_PASSWORD_RESET_URL = env(
    "ACCOUNT_PASSWORD_RESET_URL", default="http://localhost:8000/reset-password?uid={uid}&token={token}"
)
ACCOUNT_EMAIL_VERIFY_URL = env(
    "ACCOUNT_EMAIL_VERIFY_URL", default="http://localhost:8000/verify-email?uid={uid}&token={token}"
)
# Erased accounts get the address <id>@ this domain: reserved (RFC 2606), so never deliverable.
ACCOUNT_ERASED_EMAIL_DOMAIN = "deleted.invalid"
# The revocation marks of deleted and deactivated accounts (apps/accounts/revocation.py) are
# written again from the database at least this often.
ACCOUNT_REVOCATION_RELOAD_SECONDS = env.int("ACCOUNT_REVOCATION_RELOAD_SECONDS", default=60)
# Whether this deployment reads the users table for them (not the notifications deployment).
ACCOUNT_REVOCATION_FROM_DATABASE = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API ----------------------------------------------------------------------------
# Failed sign-ins (POST /api/v1/auth/token/) per account (email, any IP): with 9/min the tenth
# attempt after nine failures in a minute is refused. A name of its own so tests can check the
# shipped default while test settings lift every rate.
THROTTLE_LOGIN_ACCOUNT = env("THROTTLE_LOGIN_ACCOUNT", default="9/min")
# After the throttle cache (Redis) fails, a process lets requests through without asking it
# for this many seconds (see apps/core/throttling.py).
THROTTLE_FAIL_OPEN_SECONDS = env.float("THROTTLE_FAIL_OPEN_SECONDS", default=5.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.renderers.ORJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "apps.core.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttling.AnonRateThrottle",
        "apps.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="600/min"),
        # The public reads (summary, provider list and profile, categories) per client IP; off by
        # default: limit them at the edge (apps/core/throttling.py PublicReadThrottle says why).
        "public_read": env("THROTTLE_PUBLIC_READ", default="") or None,
        "user": env("THROTTLE_USER", default="1200/min"),
        "rating_submit": env("THROTTLE_RATING_SUBMIT", default="30/min"),
        # Helpful votes per account and per client IP (whichever account).
        "helpful_vote": env("THROTTLE_HELPFUL_VOTE", default="60/hour"),
        "helpful_vote_ip": env("THROTTLE_HELPFUL_VOTE_IP", default="120/hour"),
        "login_account": THROTTLE_LOGIN_ACCOUNT,
        # Failed sign-ins per client IP, any account.
        "login_ip": env("THROTTLE_LOGIN_IP", default="30/min"),
        "webhook_test": env("THROTTLE_WEBHOOK_TEST", default="5/min"),
        # Partner API requests per partner key.
        "partner": env("THROTTLE_PARTNER", default="600/min"),
        # Account self-service: password changes per user, reset and verification emails per
        # address (any IP) and per client IP.
        "password_change": env("THROTTLE_PASSWORD_CHANGE", default="5/min"),
        "account_email": env("THROTTLE_ACCOUNT_EMAIL", default="3/hour"),
        "account_email_ip": env("THROTTLE_ACCOUNT_EMAIL_IP", default="20/hour"),
    },
    # Number of trusted reverse proxies in front of the app; the client IP used for
    # throttling is taken that many hops from the right of X-Forwarded-For. 0 ignores the
    # header (DRF's None would trust whatever a client puts in it and let it dodge limits).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "apps.core.errors.ExceptionHandler",
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "413", "415", "429", "500"],
    # 401 adds simplejwt's token_not_valid to the package's codes; 413 is a body over
    # DATA_UPLOAD_MAX_MEMORY_SIZE (documented on operations that take a body).
    "ERROR_SCHEMAS": {
        "401": "apps.core.openapi.ErrorResponse401Serializer",
        "413": "apps.core.openapi.ErrorResponse413Serializer",
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "TOKEN_OBTAIN_SERIALIZER": "apps.accounts.api.serializers.TokenObtainInput",
}

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# Every HTML page (Swagger UI, Redoc, the admin) loads only same-origin assets, so 'self' is
# enough; the one inline script (Swagger UI's initialiser) carries the per-request nonce
# (templates/drf_spectacular/swagger_ui.html). Styles stay 'unsafe-inline': Redoc's
# styled-components and Swagger UI write <style> elements and style attributes at runtime, and
# CSS cannot run code. Redoc parses the schema in a Web Worker created from a blob: URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, CSP_UNSAFE_INLINE],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF, "data:"],
        "worker-src": [CSP_SELF, "blob:"],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}

# --- CORS (django-cors-headers) -------------------------------------------------------------
# Browser front-ends on another origin call the API with a bearer token, never cookies, so
# credentials stay off; the default (no origins) allows no cross-origin reads at all.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "idempotency-key")
CORS_EXPOSE_HEADERS = ("retry-after",)
CORS_PREFLIGHT_MAX_AGE = 3600

_ERROR_ENUMS = "drf_standardized_errors.openapi_serializers"
SPECTACULAR_SETTINGS = {
    "TITLE": "Marketplace Ratings API",
    "DESCRIPTION": (
        "Customers rate service providers; providers see an exact rating summary and are "
        "notified of every new rating. Every error uses one shape: "
        "`{type, errors: [{code, detail, attr}]}`."
    ),
    "VERSION": "1.0.0",
    "TAGS": [
        {
            "name": "auth",
            "description": (
                "Sign in with an email and password for a JWT access and refresh token pair; renew and revoke them."
            ),
        },
        {"name": "customers", "description": "Customer accounts: the people who rate providers."},
        {
            "name": "providers",
            "description": "Service providers: the public directory with rating summaries, registration and profiles.",
        },
        {
            "name": "ratings",
            "description": (
                "Ratings from 1 to 5 stars with a comment, replies, reports to moderators, and "
                "verified ratings through partner invitations."
            ),
        },
        {"name": "notifications", "description": "The signed-in user's in-app inbox and notification preferences."},
        {
            "name": "webhooks",
            "description": (
                "Signed webhook endpoints for a user's events, and the log of every email, push and webhook delivery."
            ),
        },
        {
            "name": "partner",
            "description": (
                "The partner API for a marketplace's backend, authenticated with a partner API key only: "
                "customers, service providers, ratings, average ratings and a consume-on-read notification "
                "feed, with the paths and bodies of the Homerun services. Errors here use the shape "
                "`{status, message, details?: [{field, error}]}`."
            ),
        },
        {"name": "push", "description": "Push devices that receive notifications through the push gateways."},
        {"name": "ops", "description": "Liveness and readiness probes for orchestrators and load balancers."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to validator.swagger.io from the browser: the docs use only local assets.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True, "persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": f"{_ERROR_ENUMS}.ValidationErrorEnum.choices",
        "ClientErrorEnum": f"{_ERROR_ENUMS}.ClientErrorEnum.choices",
        "ServerErrorEnum": f"{_ERROR_ENUMS}.ServerErrorEnum.choices",
        "ErrorCode401Enum": "apps.core.openapi.ErrorCode401Enum.choices",
        "ErrorCode403Enum": f"{_ERROR_ENUMS}.ErrorCode403Enum.choices",
        "ErrorCode404Enum": f"{_ERROR_ENUMS}.ErrorCode404Enum.choices",
        "ErrorCode405Enum": f"{_ERROR_ENUMS}.ErrorCode405Enum.choices",
        "ErrorCode406Enum": f"{_ERROR_ENUMS}.ErrorCode406Enum.choices",
        "ErrorCode413Enum": "apps.core.openapi.ErrorCode413Enum.choices",
        "ErrorCode415Enum": f"{_ERROR_ENUMS}.ErrorCode415Enum.choices",
        "ErrorCode429Enum": f"{_ERROR_ENUMS}.ErrorCode429Enum.choices",
        "ErrorCode500Enum": f"{_ERROR_ENUMS}.ErrorCode500Enum.choices",
        # Webhook subscriptions and preference switches name the same event types.
        "EventTypeEnum": "apps.notifications.events.EVENT_TYPE_NAMES",
        "RatingStatusEnum": "apps.ratings.models.RatingStatus.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "apps.core.openapi.postprocess_indexed_attrs",
    ],
}

# Public reads (rating summary, provider profile and list) carry an ETag and answer
# If-None-Match with 304; a shared cache may keep them this many seconds (0: revalidate on
# every use, so a summary is never stale after a 201).
PUBLIC_READ_MAX_AGE = env.int("PUBLIC_READ_MAX_AGE", default=0)

# --- Ratings domain ----------------------------------------------------------------------
# Bayesian average = (PRIOR_WEIGHT * PRIOR_MEAN + sum) / (PRIOR_WEIGHT + count)
RATING_BAYES_PRIOR_MEAN = env.float("RATING_BAYES_PRIOR_MEAN", default=3.5)
RATING_BAYES_PRIOR_WEIGHT = env.int("RATING_BAYES_PRIOR_WEIGHT", default=5)
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))
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
# Partner invitations to a verified rating: usable for this many seconds after they are made.
RATING_INVITATION_TTL = env.int("RATING_INVITATION_TTL", default=30 * 24 * 3600)
# The link of the invitation email, to the client application's rating form; {invitation_id}
# and {provider_id} are filled in (the form posts them to the API with the customer's token).
RATING_INVITATION_URL = env(
    "RATING_INVITATION_URL", default="http://localhost:8000/rate?invitation={invitation_id}&provider={provider_id}"
)

# --- Email -------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Marketplace Ratings <no-reply@marketplace-ratings.local>")

# --- Notifications -----------------------------------------------------------------------
# Absolute base URL put in emails (unsubscribe links); the app never sees its public host.
NOTIFICATIONS_PUBLIC_BASE_URL = env("NOTIFICATIONS_PUBLIC_BASE_URL", default="http://localhost:8000")
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
# long (it must stay well under the lease, or the sends would be made again).
NOTIFICATIONS_RECORD_RETRY_SECONDS = env.float("NOTIFICATIONS_RECORD_RETRY_SECONDS", default=60)
# A claimed delivery whose worker died is taken over after this lease.
NOTIFICATIONS_DELIVERY_LEASE_SECONDS = env.float("NOTIFICATIONS_DELIVERY_LEASE_SECONDS", default=120)
# Fresh pending deliveries are enqueued on commit; the sweeper only picks them up after this.
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.float("NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=30)
NOTIFICATIONS_SWEEP_INTERVAL = env.float("NOTIFICATIONS_SWEEP_INTERVAL", default=10)
# Seconds between beat's closing of ended digest periods: a digest email leaves at most about
# this long after its period ends (later if the recipient's quiet hours hold it).
NOTIFICATIONS_DIGEST_INTERVAL = env.float("NOTIFICATIONS_DIGEST_INTERVAL", default=60)
# Push devices one user can register: every event of theirs is sent to each of them.
NOTIFICATIONS_MAX_DEVICES = env.int("NOTIFICATIONS_MAX_DEVICES", default=10)

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

# --- Outbox (publisher side, apps.core.outbox) --------------------------------------------
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=5)
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=30)
# A dispatched event the consumer has not confirmed within this is sent again.
OUTBOX_CONFIRM_TIMEOUT_SECONDS = env.float("OUTBOX_CONFIRM_TIMEOUT_SECONDS", default=120)
# Most rows the beat relay (the safety net when no dispatcher runs) sends per run.
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=500)
# Rows claimed per transaction by outbox_dispatch; one task per batch and (task, queue).
OUTBOX_DISPATCH_BATCH = env.int("OUTBOX_DISPATCH_BATCH", default=200)
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

# --- Retention (apps.core.retention, `manage.py purge_expired`) ---------------------------
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

# --- Benchmark ---------------------------------------------------------------------------
# Mounts the bare one-INSERT view that bench/run.py uses as its in-run baseline. Never set it
# in a real deployment: the route exists only for the benchmark's own throwaway stack.
BENCH_BASELINE_VIEW = env.bool("BENCH_BASELINE_VIEW", default=False)

# --- Celery ------------------------------------------------------------------------------
# The database is the source of truth (outbox, deliveries); the broker is the fast path.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
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
    "core.*": {"queue": "default"},
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
}

# --- Tracing (OpenTelemetry, apps/core/tracing.py) ------------------------------------------
# On only when OTEL_EXPORTER_OTLP_ENDPOINT is set; the OTEL_* variables are read by the SDK
# itself (README "Observability"). The default service name is "<this>-<role>" unless
# OTEL_SERVICE_NAME names it.
SERVICE_DEPLOYMENT = "marketplace-ratings"

# --- Metrics -----------------------------------------------------------------------------
# Set in multi-process deployments (gunicorn, prefork workers) so /metrics sums every process.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
# A Celery worker serves its own /metrics (task durations, delivery latency) on this port when
# set, behind the same token; 0: not served (the web's /metrics cannot see another host's
# processes).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
# All interfaces: the scraper is another container; the token guards it (production requires one).
WORKER_METRICS_ADDRESS = env("WORKER_METRICS_ADDRESS", default="0.0.0.0")
# When set, /metrics answers only "Authorization: Bearer <METRICS_TOKEN>" (401 otherwise).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Production only: true lets it start without METRICS_TOKEN (a metrics port reachable only internally).
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=False)

# --- Logging -----------------------------------------------------------------------------
# text (local, tests): "time LEVEL logger [request id] message"; json: one object per line
# (apps.core.logging.JsonFormatter), production's default. Celery's worker and beat use it too.
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="") or "text"
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)

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
# Sends in flight at once to one destination host, across all workers (Redis when REDIS_URL).
OUTBOUND_HOST_CONCURRENCY = env.int("OUTBOUND_HOST_CONCURRENCY", default=4)
# Keep-alive: an idle connection to a receiver is reused for this many seconds; 0 = never.
OUTBOUND_KEEPALIVE_IDLE_SECONDS = env.float("OUTBOUND_KEEPALIVE_IDLE_SECONDS", default=30.0)
# Full-jitter backoff: the wait after attempt n is uniform(0, min(CAP, BASE * 2**(n-1))).
# With 60 s, 4 h and 20 attempts the caps of the 19 waits add up to ~48 h, so the expected
# (mean) span from first to last attempt is ~24 h and the longest possible one ~48 h.
OUTBOUND_RETRY_BASE_SECONDS = env.float("OUTBOUND_RETRY_BASE_SECONDS", default=60.0)
OUTBOUND_RETRY_CAP_SECONDS = env.float("OUTBOUND_RETRY_CAP_SECONDS", default=4 * 3600.0)
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=20)

# Circuit breakers (one per destination host / delivery provider), state in REDIS_URL when set.
BREAKER_FAIL_MAX = env.int("BREAKER_FAIL_MAX", default=5)
BREAKER_RESET_TIMEOUT = env.float("BREAKER_RESET_TIMEOUT", default=60.0)
BREAKER_KEY_PREFIX = env("BREAKER_KEY_PREFIX", default="mr-breaker")

# Webhook endpoints: an endpoint whose attempts have all failed for this long (seconds) is
# disabled and its owner told in the inbox; after a secret rotation the previous secret still
# signs (a second signature) for WEBHOOK_SECRET_GRACE seconds.
WEBHOOK_DISABLE_AFTER = env.float("WEBHOOK_DISABLE_AFTER", default=3 * 86400.0)
WEBHOOK_SECRET_GRACE = env.float("WEBHOOK_SECRET_GRACE", default=86400.0)
