"""The embedded default: SQLite, filesystem Celery broker, console email. No server needed."""

import copy
import warnings

from config import env as _env
from config.local_secret import local_secret_key

# Registered before base reads the variables (config/env.py); the environment still wins.
_env.environment_defaults(
    **_env.EMBEDDED_DEFAULTS,
    CELERY_BROKER_URL="filesystem://",
    DEBUG="true",
    ALLOWED_HOSTS="localhost,127.0.0.1,[::1],0.0.0.0",
    # Local receivers (a webhook inspector on localhost) must be reachable; private ranges stay refused.
    OUTBOUND_REQUIRE_HTTPS="false",
    OUTBOUND_ALLOW_LOOPBACK="true",
)

from .base import *  # noqa: E402, F403

# Never a committed key: without SECRET_KEY, one generated on the first start, kept in var/
# (simplejwt signs with the final SECRET_KEY unless JWT_SIGNING_KEY is set).
if not SECRET_KEY:  # noqa: F405
    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")  # noqa: F405

# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Periodic tasks (relay, sweep, digests) are logged only when they did something, so the
# console keeps the emails it prints in view (config/log_filters.py).
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405 - base's dict stays as it was
LOGGING["filters"]["idle_periodic_tasks"] = {"()": "config.log_filters.IdlePeriodicTasksFilter"}
LOGGING["handlers"]["console"]["filters"].append("idle_periodic_tasks")
# WhiteNoise serves static files through a synchronous file iterator, which Django under
# uvicorn (ASGI) reads in a thread, with this warning once per process: noise on the console.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
