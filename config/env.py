"""The one ``environ.Env`` every settings module reads the environment through.

Each environment variable is read in exactly one settings module. An environment module
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


# What the embedded settings (local, test) fall back to, so `make run` and `make test` need no
# server: SQLite under var/, and the developer's `.env` read.
EMBEDDED_DEFAULTS = {
    "DJANGO_READ_DOT_ENV_FILE": "true",
    "DATABASE_URL": f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
}
