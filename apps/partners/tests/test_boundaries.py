"""The notifications deployment serves the partner feed without loading the ratings, providers or
customers apps (it does not install them). Checked in a subprocess: settings load once."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json
import sys
import django
django.setup()
from django.urls import resolve
import config.urls_notifications
from apps.partners.api.feed_views import PartnerAPIView
from apps.partners.models import PartnerKey
from apps.partners.api.authentication import PartnerKeyAuthentication
print("FEED", resolve("/api/notifications/x").func.view_class.__name__)
print("AUTH", [c is PartnerKeyAuthentication for c in PartnerAPIView.authentication_classes])
print("DB", PartnerKey.objects.db)
print("LOADED", json.dumps(sorted({m.split(".")[1] for m in sys.modules if m.startswith("apps.")})))
"""


def test_the_notifications_deployment_serves_the_feed_with_its_own_key_model():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "DJANGO_READ_DOT_ENV_FILE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.notifications",
        SECRET_KEY="partner-boundary-test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="a.example",
        DATABASE_URL="postgres://check@127.0.0.1:1/notifications",
        PARTNER_KEYS_DATABASE_URL="postgres://check@127.0.0.1:1/main",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        REDIS_URL="redis://127.0.0.1:1/0",
        METRICS_TOKEN="partner-boundary-test-token",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["FEED"] == "NotificationFeedView"
    assert lines["AUTH"] == "[True]"
    # Keys are read from the main database, not from this deployment's own.
    assert lines["DB"] == "partner_keys"
    loaded = json.loads(lines["LOADED"])
    assert not {"ratings", "providers", "customers"} & set(loaded), loaded
    assert {"partners", "notifications"} <= set(loaded)
