"""The one ``environ.Env`` every settings module reads the environment through.

Each environment variable is read in exactly one settings module, or, for the few that the web
servers' launchers need before Django's settings exist (``LOG_FORMAT``, ``LOG_LEVEL``,
``PROMETHEUS_MULTIPROC_DIR``, ``PORT``), in one function here that the launchers and the
settings both call. An environment module
(``local``, ``test``, ``production``) that needs another default for a variable registers it
with ``environment_defaults`` before it imports ``base``: the variable is still read once, where
it is documented, and the real environment (or ``.env``) always wins over the default.
"""

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
# The embedded default's state (SQLite database, filesystem broker, beat schedule). VAR_DIR=
# moves it: tests/docs/test_walkthrough.py runs a `make run` of its own beside a developer's.
# Read here, before the defaults below are built from it.
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")

_defaults: dict[str, str] = {}


class _Environment(Mapping):
    """``os.environ``, then the defaults of the environment module being loaded.

    A variable set but empty (``SECRET_KEY=`` copied from ``.env.example``) counts as unset
    when the environment module has a default for it.
    """

    def __getitem__(self, name: str) -> str:
        value = os.environ.get(name)
        if value is None or (value == "" and name in _defaults):
            return _defaults[name]
        return value

    def __iter__(self) -> Iterator[str]:
        return iter({*os.environ, *_defaults})

    def __len__(self) -> int:
        return len({*os.environ, *_defaults})


env = environ.Env()
env.ENVIRON = _Environment()


def environment_defaults(**values: str) -> None:
    """Defaults of one environment module, registered before ``base`` reads the variables."""
    _defaults.update(values)


# --- Read before the settings exist ------------------------------------------------------------
# config/gunicorn.py and config/server.py configure logging and the metrics directory before
# Django loads its settings; config/settings/observability.py reads the same variables through
# these, so each has one reading and one meaning.


def log_format(*, default: str) -> str:
    """``LOG_FORMAT`` (json or text; config/log_config.py checks it), else an environment
    module's registered default, else ``default``."""
    return env("LOG_FORMAT", default="") or default


def log_level() -> str:
    """``LOG_LEVEL``; INFO when unset or empty."""
    return env("LOG_LEVEL", default="") or "INFO"


def prometheus_multiproc_dir() -> str:
    """``PROMETHEUS_MULTIPROC_DIR``: where each process of a multi-process server writes its
    metric samples; empty when unset."""
    return env("PROMETHEUS_MULTIPROC_DIR", default="").strip()


def port(*, default: int = 8000) -> int:
    """``PORT``: the web server's port when ``--port`` is not given."""
    return int(env("PORT", default="") or default)


# What the embedded settings (local, test) fall back to, so `make run` and `make test` need no
# server: SQLite under var/, and the developer's `.env` read.
EMBEDDED_DEFAULTS = {
    "DJANGO_READ_DOT_ENV_FILE": "true",
    "DATABASE_URL": f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
}
