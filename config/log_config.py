"""The ``LOGGING`` configuration of every process, in one of the two ``LOG_FORMAT``s.

Used by Django settings (web, the dispatcher, commands), by the Celery worker and beat (their
``setup_logging`` signal applies Django's ``LOGGING``: config/celery_app.py) and by the web
server's main process (config/server.py; config/gunicorn.py for gunicorn), so every line of a
deployment has one format.
"""

from django.core.exceptions import ImproperlyConfigured

LOG_FORMATS = ("json", "text")
REPEATING_LOGGERS = (
    "pybreaker",
    "apps.notifications.outbound.breakers",
    "apps.notifications.outbound.limits",
    "apps.notifications.intake.live",
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, log_format: str, level: str) -> dict:
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "apps.core.logging.RequestIdFilter"},
            "repeats": {"()": "apps.core.logging.RepeatFilter", "window": 30.0},
        },
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {"()": "apps.core.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]},
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # The servers' own access lines are written after the request's context is gone (no
            # request id); apps.core.access (RequestIdMiddleware) writes the one line instead.
            "django.server": {"handlers": ["null"], "propagate": False},
            "gunicorn.access": {"handlers": ["null"], "propagate": False},
            "granian.access": {"handlers": ["null"], "propagate": False},
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            # Infrastructure errors repeated by every call while Redis is down: one line per
            # message every 30 s per process (apps.core.logging.RepeatFilter).
            **{name: {"filters": ["repeats"]} for name in REPEATING_LOGGERS},
        },
    }
