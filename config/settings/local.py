"""The embedded default: SQLite, filesystem Celery broker, console email. No server needed."""

from config.local_secret import local_secret_key

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# Never a committed key: without SECRET_KEY, one generated on the first start, kept in var/.
SECRET_KEY = env("SECRET_KEY", default="") or local_secret_key(VAR_DIR / "secret_key")  # noqa: F405
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY", default="") or SECRET_KEY  # noqa: F405
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "0.0.0.0"])
# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Local receivers (a webhook inspector on localhost) must be reachable; private ranges stay refused.
OUTBOUND_REQUIRE_HTTPS = env.bool("OUTBOUND_REQUIRE_HTTPS", default=False)
OUTBOUND_ALLOW_LOOPBACK = env.bool("OUTBOUND_ALLOW_LOOPBACK", default=True)
