"""Production: every secret comes from the environment; nothing insecure by default.

Refuses to start half-configured: without these variables base.py would fall back to the
embedded default (SQLite, a filesystem broker, a per-process cache), which a deployment must
never run on by accident.
"""

from django.core.exceptions import ImproperlyConfigured

from config.log_config import logging_config

from .base import *  # noqa: F403
from .base import LOG_LEVEL, SIMPLE_JWT, env

REQUIRED_ENV = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
_missing = [name for name in REQUIRED_ENV if not env(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured(
        f"Production settings need these environment variables, missing or empty: {', '.join(_missing)} "
        "(see .env.example)."
    )

# Never from the environment (nor from a .env read on opt-in).
DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production.")
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY", default="") or SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Kubernetes: the kubelet's httpGet probes send "Host: <pod IP>:<port>", which Django answers with
# a 400 unless allowed. The manifests pass the pod's own address (downward API, status.podIP);
# only clients inside the cluster network can reach a pod by it (docs/kubernetes.md).
POD_IP = env("POD_IP", default="").strip()
if POD_IP:
    ALLOWED_HOSTS.append(f"[{POD_IP}]" if ":" in POD_IP else POD_IP)

# /metrics shows backlogs and delivery counts: never public by accident. METRICS_PUBLIC=true is
# for a deployment whose /metrics is reachable only from an internal network (the scraper's).
METRICS_TOKEN = env("METRICS_TOKEN", default="").strip()
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=False)
if not METRICS_TOKEN and not METRICS_PUBLIC:
    raise ImproperlyConfigured(
        "Production settings need METRICS_TOKEN (the bearer token /metrics requires), or "
        "METRICS_PUBLIC=true when /metrics is reachable only internally (see .env.example)."
    )

# JSON lines for the log shipper; LOG_FORMAT=text reads better on a terminal.
LOG_FORMAT = env("LOG_FORMAT", default="") or "json"
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)

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
