"""Celery application shared by every role (web enqueues, worker and beat consume)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("marketplace_ratings")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
