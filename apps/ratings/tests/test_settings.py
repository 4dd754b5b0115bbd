"""RATING_EDIT_WINDOW is read at start (in a subprocess: settings load once)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _window(value: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(repr(settings.RATING_EDIT_WINDOW))"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.test", "RATING_EDIT_WINDOW": value},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("P30D", "datetime.timedelta(days=30)"), ("PT12H", "datetime.timedelta(seconds=43200)")],
)
def test_the_window_is_an_iso_8601_duration(value, expected):
    result = _window(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("value", ["30 days please", "P0D", "-P1D"])
def test_a_window_that_is_not_a_positive_duration_stops_the_start(value):
    result = _window(value)
    assert result.returncode != 0
    assert "RATING_EDIT_WINDOW must be a positive duration" in result.stderr
