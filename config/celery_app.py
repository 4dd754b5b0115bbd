"""Celery application shared by every role (web enqueues, worker and beat consume)."""

import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

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
