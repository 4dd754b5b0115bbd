"""Production: every secret comes from the environment; nothing insecure by default.

Refuses to start half-configured: without these variables the deployment would run on no
database, no broker or a per-process cache, which it must never do by accident.
"""

from django.core.exceptions import ImproperlyConfigured

from config import env as _env

# JSON lines for the log shipper; LOG_FORMAT=text reads better on a terminal.
_env.environment_defaults(LOG_FORMAT="json")

from .base import *  # noqa: E402, F403
from .base import (  # noqa: E402
    ALLOWED_HOSTS,
    CELERY_BROKER_URL,
    DATABASE_URL,
    METRICS_PUBLIC,
    METRICS_TOKEN,
    REDIS_URL,
    SECRET_KEY,
    env,
)

REQUIRED_ENV = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
# Checked on the values base read (each variable is read once, there).
_given = {
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "".join(ALLOWED_HOSTS).strip(),
    "DATABASE_URL": DATABASE_URL,
    "CELERY_BROKER_URL": CELERY_BROKER_URL,
    "REDIS_URL": REDIS_URL,
}
_missing = [name for name in REQUIRED_ENV if not _given[name]]
if _missing:
    raise ImproperlyConfigured(
        f"Production settings need these environment variables, missing or empty: {', '.join(_missing)} "
        "(see .env.example)."
    )

# Never from the environment (nor from a .env read on opt-in).
DEBUG = False
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production.")
# Kubernetes: the kubelet's httpGet probes send "Host: <pod IP>:<port>", which Django answers with
# a 400 unless allowed. The manifests pass the pod's own address (downward API, status.podIP);
# only clients inside the cluster network can reach a pod by it (docs/kubernetes.md).
POD_IP = env("POD_IP", default="").strip()
if POD_IP:
    ALLOWED_HOSTS.append(f"[{POD_IP}]" if ":" in POD_IP else POD_IP)

# /metrics shows backlogs and delivery counts: never public by accident. METRICS_PUBLIC=true is
# for a deployment whose /metrics is reachable only from an internal network (the scraper's).
if not METRICS_TOKEN and not METRICS_PUBLIC:
    raise ImproperlyConfigured(
        "Production settings need METRICS_TOKEN (the bearer token /metrics requires), or "
        "METRICS_PUBLIC=true when /metrics is reachable only internally (see .env.example)."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# Not read from the environment: production never sends to plain-HTTP or loopback receivers.
OUTBOUND_REQUIRE_HTTPS = True
OUTBOUND_ALLOW_LOOPBACK = False
