"""Celery application shared by every role (web enqueues, worker and beat consume)."""

import os

from celery import Celery
from celery.signals import (
    beat_init,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
)

from config import celery_transports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# A malformed broker message is dropped as poison (logged, counted), never a worker crash.
celery_transports.install()

app = Celery("marketplace_ratings")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def configure_logging(**kwargs) -> None:
    """The worker and beat log through Django's ``LOGGING`` (``LOG_FORMAT``, ``LOG_LEVEL``).

    A receiver of this signal keeps Celery from putting its own handler and format on the root
    logger (and from redirecting stdout), so its lines, the tasks' lines and the request ids
    they carry come out in the one format of the deployment. ``--loglevel`` no longer applies:
    ``LOG_LEVEL`` does, as in every other process.
    """
    from django.conf import settings
    from django.utils.log import configure_logging

    # Django's own step (also routes Python warnings through logging), before Django's setup
    # repeats it: Celery logs, and warns, before that.
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def close_old_db_connections(task=None, **kwargs) -> None:
    """Django's per-request connection rule, around every task.

    Celery's Django fixup closes every database connection before and after each task unless
    ``CELERY_DB_REUSE_MAX`` is set: a new PostgreSQL connection (a backend fork) per task,
    11 % of the notifications worker's time in the bench profile. With reuse on, this closes
    only what Django would close after a request: connections past ``CONN_MAX_AGE``, and
    connections left unusable by an error (checked only then).
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def setup_tracing_in_pool_process(**kwargs) -> None:
    """Tracing in each prefork (or solo) pool process, after the fork: an exporter thread
    started before it would not exist in the child."""
    from apps.core import tracing

    tracing.setup("worker")


@worker_init.connect
def setup_tracing_in_worker(sender=None, **kwargs) -> None:
    """Threads (and other in-process) pools run tasks in the worker's own process, which gets no
    worker_process_init; a prefork parent runs none, its children set up their own."""
    from celery.concurrency import get_implementation

    pool = get_implementation(sender.pool_cls) if sender is not None else None
    if pool is not None and pool.__module__.rsplit(".", 1)[-1] in ("prefork", "solo"):
        return
    from apps.core import tracing

    tracing.setup("worker")


@beat_init.connect
def setup_tracing_in_beat(**kwargs) -> None:
    from apps.core import tracing

    tracing.setup("beat")


@worker_ready.connect
def serve_worker_metrics(**kwargs) -> None:
    """The worker's own /metrics (WORKER_METRICS_PORT), from its main process: with a prefork
    pool it sums its pool processes through PROMETHEUS_MULTIPROC_DIR."""
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from apps.core.metrics import serve_worker_metrics

        serve_worker_metrics(port=settings.WORKER_METRICS_PORT, address=settings.WORKER_METRICS_ADDRESS)
