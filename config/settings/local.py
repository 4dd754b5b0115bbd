"""The embedded default: SQLite, filesystem Celery broker, console email. No server needed."""

from config import env as _env

# Registered before base reads the variables (config/env.py); the environment still wins.
_env.environment_defaults(
    **_env.EMBEDDED_DEFAULTS,
    CELERY_BROKER_URL="filesystem://",
    DEBUG="true",
    SECRET_KEY="local-insecure-secret-key-for-development-only-0123456789",
    ALLOWED_HOSTS="localhost,127.0.0.1,[::1],0.0.0.0",
    # Local receivers (a webhook inspector on localhost) must be reachable; private ranges stay refused.
    OUTBOUND_REQUIRE_HTTPS="false",
    OUTBOUND_ALLOW_LOOPBACK="true",
)

from .base import *  # noqa: E402, F403

# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
