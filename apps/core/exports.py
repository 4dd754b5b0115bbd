"""The registry of personal-data exporters: each app contributes what it stores about a user.

A user's export ("your data, yours") must gather rows from apps that the accounts app may not
import (ratings, notifications sit above it in the layers). So each app registers, in its
``AppConfig.ready``, a function that returns its section of the archive for one user, and
``export_sections`` calls them all: the accounts app builds the archive knowing no other app.
An exporter returns only JSON-ready values and never a secret (a password hash, a webhook's
signing secret, a device token): the archive is mailed as a link and may be kept anywhere.
"""

from collections.abc import Callable

Exporter = Callable[[object], object]
_EXPORTERS: dict[str, Exporter] = {}


def register_exporter(section: str, exporter: Exporter) -> None:
    """Add ``section`` to every archive; registering the same name again replaces it (a reload)."""
    _EXPORTERS[section] = exporter


def export_sections(user) -> dict[str, object]:
    """Every registered section for ``user``, in name order (a stable archive to compare)."""
    return {section: _EXPORTERS[section](user) for section in sorted(_EXPORTERS)}


def export_section_names() -> list[str]:
    return sorted(_EXPORTERS)
