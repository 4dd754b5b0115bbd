"""The embedded default's own secret key: generated on the first start, kept under var/.

``make run`` must not sign sessions and tokens with a key anyone can read in the repository (a
forged staff token would be accepted by every instance reachable on the network). Every role
of ``make run`` (web, worker, beat, dispatcher) starts at the same moment and reads the same
file: the first writes it, atomically (a temporary file hard-linked into place, which fails if
another process got there first), and the others read that one.
"""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

# Django's check (security.W009) wants at least 50 characters and 5 distinct ones.
_BYTES = 48


def local_secret_key(path: Path) -> str:
    """The key stored at ``path``; one is generated (owner-only permissions) if there is none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(_BYTES))
        os.chmod(temporary, 0o600)
        # Another role may have written it first: then theirs is the key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 50:
        raise ValueError(f"{path} holds no usable secret key; delete it to have a new one generated.")
    return key
