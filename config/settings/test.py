"""Test settings: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, SQLite otherwise."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, SIMPLE_JWT, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
SIMPLE_JWT["SIGNING_KEY"] = SECRET_KEY
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not env("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if not env("CELERY_BROKER_URL", default=""):
    # Unit tests never need a worker; what was sent is asserted on the publisher side.
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": "100000/min",
    "public_read": None,
    "user": "100000/min",
    "rating_submit": "100000/min",
    "helpful_vote": "100000/min",
    "helpful_vote_ip": "100000/min",
    "login_account": "100000/min",
    "login_ip": "100000/min",
    "webhook_test": "100000/min",
    "partner": "100000/min",
    "password_change": "100000/min",
    "account_email": "100000/min",
    "account_email_ip": "100000/min",
}
CACHES["default"]["KEY_PREFIX"] = env("CACHE_KEY_PREFIX", default="mr-test")  # noqa: F405

# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Tests run their receivers and gateways on 127.0.0.1 over plain HTTP; tests that check the
# refusals turn loopback off with the ``settings`` fixture.
OUTBOUND_REQUIRE_HTTPS = False
OUTBOUND_ALLOW_LOOPBACK = True
# Keeps breaker keys of test runs apart from those of a local server sharing the same Redis.
BREAKER_KEY_PREFIX = env("BREAKER_KEY_PREFIX", default="mr-test-breaker")
