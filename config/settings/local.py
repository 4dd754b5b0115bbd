"""The embedded default: SQLite, filesystem Celery broker, console email. No server needed."""

import copy
import warnings

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-insecure-secret-key-for-development-only-0123456789")
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY", default="") or SECRET_KEY  # noqa: F405
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "0.0.0.0"])
# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Local receivers (a webhook inspector on localhost) must be reachable; private ranges stay refused.
OUTBOUND_REQUIRE_HTTPS = env.bool("OUTBOUND_REQUIRE_HTTPS", default=False)
OUTBOUND_ALLOW_LOOPBACK = env.bool("OUTBOUND_ALLOW_LOOPBACK", default=True)

# Periodic tasks (relay, sweep, digests) are logged only when they did something, so the
# console keeps the emails it prints in view (config/log_filters.py).
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405 - base's dict stays as it was
LOGGING["filters"]["idle_periodic_tasks"] = {"()": "config.log_filters.IdlePeriodicTasksFilter"}
LOGGING["handlers"]["console"]["filters"].append("idle_periodic_tasks")
# WhiteNoise serves static files through a synchronous file iterator, which Django under
# uvicorn (ASGI) reads in a thread, with this warning once per process: noise on the console.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
