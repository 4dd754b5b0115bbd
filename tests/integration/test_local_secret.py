"""make run signs with a key of its own, generated on its first start under var/, never a
committed one."""

import os
import stat
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from config.local_secret import local_secret_key

ROOT = Path(__file__).resolve().parents[2]


def test_a_key_is_generated_once_owner_only_and_kept(tmp_path):
    path = tmp_path / "var" / "secret_key"

    key = local_secret_key(path)

    assert len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret_key(path) == key
    assert local_secret_key(tmp_path / "other" / "secret_key") != key
    # No temporary file is left beside it.
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_roles_starting_together_share_one_key(tmp_path):
    path = tmp_path / "secret_key"
    with ProcessPoolExecutor(max_workers=4) as pool:
        keys = set(pool.map(local_secret_key, [path] * 8))
    assert keys == {path.read_text().strip()}


def test_the_local_settings_use_the_generated_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JWT_SIGNING_KEY")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    env["DJANGO_READ_DOT_ENV_FILE"] = "0"
    # Its own state directory: the key is made there, whatever VAR_DIR the suite runs with.
    env["VAR_DIR"] = str(tmp_path)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "from rest_framework_simplejwt.settings import api_settings; "
            "print(settings.SECRET_KEY); print(api_settings.SIGNING_KEY)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    stored = (tmp_path / "secret_key").read_text().strip()
    assert out == [stored, stored]
    # Not a key anyone can read in the repository.
    committed = subprocess.run(["git", "grep", "-c", stored], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert committed.stdout == ""
