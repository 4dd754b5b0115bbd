"""Observability: tracing's service name, Prometheus metrics, logging."""

from config.env import env, log_format, log_level, prometheus_multiproc_dir
from config.log_config import logging_config

# --- Tracing (OpenTelemetry, apps/core/tracing.py) ------------------------------------------
# On only when OTEL_EXPORTER_OTLP_ENDPOINT is set; the OTEL_* variables are read by the SDK
# itself (README "Observability"). The default service name is "<this>-<role>" unless
# OTEL_SERVICE_NAME names it.
SERVICE_DEPLOYMENT = "marketplace-ratings"

# --- Metrics -----------------------------------------------------------------------------
# Set in multi-process deployments (the web server's workers, prefork workers) so /metrics sums
# every process.
PROMETHEUS_MULTIPROC_DIR = prometheus_multiproc_dir()
# A Celery worker serves its own /metrics (task durations, delivery latency) on this port when
# set, behind the same token; 0: not served (the web's /metrics cannot see another host's
# processes).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
# All interfaces: the scraper is another container; the token guards it (production requires one).
WORKER_METRICS_ADDRESS = env("WORKER_METRICS_ADDRESS", default="0.0.0.0")
# When set, /metrics answers only "Authorization: Bearer <METRICS_TOKEN>" (401 otherwise).
METRICS_TOKEN = env("METRICS_TOKEN", default="").strip()
# Production only: true lets it start without METRICS_TOKEN (a metrics port reachable only internally).
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=False)

# --- Logging -----------------------------------------------------------------------------
# text (local, tests): "time LEVEL logger [request id] message"; json: one object per line
# (apps.core.logging.JsonFormatter), production's default (config/settings/production.py).
# Celery's worker and beat use it too.
LOG_LEVEL = log_level()
LOG_FORMAT = log_format(default="text")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
