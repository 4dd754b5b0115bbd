"""Production settings refuse to start half-configured (run in a subprocess: they load once)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
SECRET = "production-settings-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
STORES = {
    "DATABASE_URL": "postgres://check@127.0.0.1:1/unused",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}
METRICS = {"METRICS_TOKEN": "metrics-settings-test-token"}
_OURS = {
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "DJANGO_READ_DOT_ENV_FILE",
    "JWT_SIGNING_KEY",
    "METRICS_PUBLIC",
    "POD_IP",
    *METRICS,
    *STORES,
}


def _manage(settings_module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in _OURS and not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": settings_module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("settings_module", ["config.settings.production", "config.settings.notifications"])
def test_without_the_data_stores_production_refuses_to_start_naming_each(settings_module):
    result = _manage(settings_module, "check", SECRET_KEY=SECRET, ALLOWED_HOSTS="ratings.example.com")
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: Production settings need these environment variables, missing or empty: "
        "DATABASE_URL, CELERY_BROKER_URL, REDIS_URL (see .env.example)."
    ) in result.stderr


def test_one_missing_variable_is_named_alone():
    result = _manage("config.settings.production", "check", **{**STORES, "REDIS_URL": ""}, ALLOWED_HOSTS="a.example")
    assert result.returncode != 0
    assert "missing or empty: SECRET_KEY, REDIS_URL (see .env.example)." in result.stderr


def test_fully_configured_production_passes_check_and_takes_no_debug_from_the_environment():
    result = _manage(
        "config.settings.production",
        "shell",
        "-c",
        "from django.conf import settings; from django.core.management import call_command; "
        "call_command('check'); print('DEBUG', settings.DEBUG)",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="ratings.example.com",
        DEBUG="true",
        **STORES,
        **METRICS,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "DEBUG False"
    assert "System check identified no issues" in result.stdout + result.stderr


METRICS_REFUSAL = (
    "ImproperlyConfigured: Production settings need METRICS_TOKEN (the bearer token /metrics requires), "
    "or METRICS_PUBLIC=true when /metrics is reachable only internally (see .env.example)."
)


@pytest.mark.parametrize("settings_module", ["config.settings.production", "config.settings.notifications"])
@pytest.mark.parametrize("metrics_env", [{}, {"METRICS_TOKEN": "  "}, {"METRICS_PUBLIC": "false"}])
def test_without_a_metrics_token_production_refuses_to_start(settings_module, metrics_env):
    result = _manage(settings_module, "check", SECRET_KEY=SECRET, ALLOWED_HOSTS="a.example", **STORES, **metrics_env)
    assert result.returncode != 0
    assert METRICS_REFUSAL in result.stderr


@pytest.mark.parametrize(
    ("metrics_env", "expected"),
    [(METRICS, "TOKEN metrics-settings-test-token"), ({"METRICS_PUBLIC": "true"}, "TOKEN ")],
)
def test_production_starts_with_a_metrics_token_or_an_explicit_public_opt_out(metrics_env, expected):
    result = _manage(
        "config.settings.notifications",
        "shell",
        "-c",
        "from django.conf import settings; print('TOKEN', settings.METRICS_TOKEN)",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="a.example",
        **STORES,
        **metrics_env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == expected


@pytest.mark.parametrize("settings_module", ["config.settings.production", "config.settings.notifications"])
@pytest.mark.parametrize(
    ("pod_ip", "probe_host", "expected"),
    [
        # The kubelet's httpGet probe: "Host: <pod IP>:<port>".
        ("", "10.1.2.3:8000", "STATUS 200 400"),
        ("10.1.2.3", "10.1.2.3:8000", "STATUS 200 200"),
        ("fd00::7", "[fd00::7]:8000", "STATUS 200 200"),
    ],
)
def test_the_pods_own_address_is_an_allowed_host_only_when_given(settings_module, pod_ip, probe_host, expected):
    result = _manage(
        settings_module,
        "shell",
        "-c",
        "from django.test import Client; print('STATUS', *[Client().get('/healthz', HTTP_HOST=host).status_code "
        f"for host in ('ratings.example.com', {probe_host!r})])",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="ratings.example.com",
        POD_IP=pod_ip,
        **STORES,
        **METRICS,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == expected
