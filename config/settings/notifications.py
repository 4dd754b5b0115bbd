"""The separate notifications deployment: only the notifications API and its worker.

Runs on production settings (same secrets, hardening and required variables: it refuses to start
without DATABASE_URL, CELERY_BROKER_URL or REDIS_URL too) with fewer apps: no admin and no
ratings, providers or customers; the events arrive through the broker, and the intake's
handlers decide here who is told. Requests authenticate with the main deployment's JWTs (same signing key)
without reading the users table: the recipient is the token's ``user_id``.
Its worker consumes only the ``notifications`` queue:
``celery -A config worker -Q notifications``.
"""

from .production import *  # noqa: F403
from .production import REST_FRAMEWORK, SPECTACULAR_SETTINGS

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "corsheaders",
    "csp",
    "apps.core",
    # The user model must be importable (core's idempotency keys reference it); its table is
    # never read here.
    "apps.accounts",
    "apps.notifications",
]
MIDDLEWARE = [
    "apps.core.metrics.RequestMetricsMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.errors.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Browser pages only, as in the main deployment (apps/core/browser.py).
    "apps.core.browser.BrowserCsrfViewMiddleware",
    "apps.core.browser.BrowserXFrameOptionsMiddleware",
    # The same Content-Security-Policy as the main deployment (its Swagger UI needs the nonce).
    "apps.core.browser.BrowserCSPMiddleware",
]
ROOT_URLCONF = "config.urls_notifications"
TEMPLATES[0]["OPTIONS"]["context_processors"] = ["django.template.context_processors.request"]  # noqa: F405
# The users table is not read here: revoked tokens are refused by the Redis marks the main
# deployment writes (apps/accounts/revocation.py); with Redis down a request is 503.
ACCOUNT_REVOCATION_FROM_DATABASE = False
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "apps.accounts.authentication.JWTStatelessAuthentication",
]
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "TITLE": "Marketplace Ratings notifications API",
    "DESCRIPTION": "The inbox and notification preferences, served by the notifications deployment.",
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    k: v for k, v in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].items() if not v.startswith("apps.ratings")
}
# Only the sweeper and the purge of its own tables are this deployment's periodic work; the
# outbox relay and core's purge belong to the publisher (main deployment).
CELERY_BEAT_SCHEDULE = {
    name: CELERY_BEAT_SCHEDULE[name]  # noqa: F405
    for name in ("notifications-deliveries-sweep", "notifications-digests-close", "notifications-retention-purge")
}
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Default OpenTelemetry service names: marketplace-notifications-web, -worker.
SERVICE_DEPLOYMENT = "marketplace-notifications"

# The outbox lives in the publisher's database, not in ours: confirm through the broker.
OUTBOX_CONFIRM_INLINE = False
