"""Test settings: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, SQLite otherwise."""

from config import env as _env

# Registered before base reads the variables (config/env.py); the environment still wins.
_env.environment_defaults(
    **_env.EMBEDDED_DEFAULTS,
    # Unit tests never need a worker; what was sent is asserted on the publisher side.
    CELERY_BROKER_URL="memory://",
    EMAIL_URL="memorymail://",
    CACHE_KEY_PREFIX="mr-test",
    # Keeps breaker keys of test runs apart from those of a local server sharing the same Redis.
    BREAKER_KEY_PREFIX="mr-test-breaker",
)

from .base import *  # noqa: E402, F403
from .base import DATABASES, REST_FRAMEWORK, VAR_DIR  # noqa: E402

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
for _db in DATABASES.values():
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not Django's shared-cache in-memory database: there, threads (live_server, the
        # concurrency tests) meet SQLite's table locks, which fail at once ("database table is
        # locked") instead of waiting out the busy timeout as file locks do.
        VAR_DIR.mkdir(exist_ok=True)
        _db["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
        # A test database need not survive a power cut.
        _db["OPTIONS"]["init_command"] += "PRAGMA synchronous=OFF;"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Every throttled request counted in Redis at once, as the tests read the counters; the local
# allowance has tests of its own (apps/core/tests/unit/test_throttle_allowance.py).
THROTTLE_LOCAL_SHARE = 0
# Every throttle scope lifted out of the tests' way (a scope that is off stays off); the tests
# of a throttle set its rate with the ``settings`` fixture.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    scope: rate and "100000/min" for scope, rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items()
}

# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Tests run their receivers and gateways on 127.0.0.1 over plain HTTP; tests that check the
# refusals turn loopback off with the ``settings`` fixture.
OUTBOUND_REQUIRE_HTTPS = False
OUTBOUND_ALLOW_LOOPBACK = True
