"""The registry of personal-data exporters: each app contributes what it stores about a user.

A user's export ("your data, yours") must gather rows from apps that the accounts app may not
import (ratings, notifications sit above it in the layers). So each app registers, in its
``AppConfig.ready``, what it adds to the archive, and the accounts app builds the archive
knowing no other app. An app contributes in one of two ways:

- a *section*, ``register_exporter``: a function the export task calls for one user, in the
  main deployment's worker, reading the main database;
- a *remote part*, ``register_export_part``: named sections that a task of the app answers,
  sent by name to the app's queue, for an app whose tables may live where the main
  deployment's worker cannot read them (the notifications app, in its own deployment and
  database). The request goes through the outbox; the answer comes back as a task of the
  accounts app (docs/operations.md, "Export: your data, yours").

An exporter returns only JSON-ready values and never a secret (a password hash, a webhook's
signing secret, a device token): the archive is mailed as a link and may be kept anywhere.
"""

from collections.abc import Callable
from dataclasses import dataclass

Exporter = Callable[[object], object]
_EXPORTERS: dict[str, Exporter] = {}


@dataclass(frozen=True)
class ExportPart:
    """Sections answered by the task ``task`` (sent by name to ``queue``) for one export."""

    name: str
    task: str
    queue: str
    sections: tuple[str, ...]


_PARTS: dict[str, ExportPart] = {}


def register_exporter(section: str, exporter: Exporter) -> None:
    """Add ``section`` to every archive; registering the same name again replaces it (a reload)."""
    _EXPORTERS[section] = exporter


def register_export_part(name: str, *, task: str, queue: str, sections: list[str] | tuple[str, ...]) -> None:
    """Add the part ``name`` (its ``sections``, answered by ``task`` on ``queue``) to every archive.

    Registering the same name again replaces it (a reload). A section belongs to one exporter
    or one part: the archive has one value per name.
    """
    _PARTS[name] = ExportPart(name=name, task=task, queue=queue, sections=tuple(sorted(sections)))


def export_sections(user) -> dict[str, object]:
    """Every registered local section for ``user``, in name order (a stable archive to compare)."""
    return {section: _EXPORTERS[section](user) for section in sorted(_EXPORTERS)}


def export_parts() -> list[ExportPart]:
    """Every registered remote part, in name order."""
    return [_PARTS[name] for name in sorted(_PARTS)]


def export_part(name: str) -> ExportPart | None:
    return _PARTS.get(name)


def export_section_names() -> list[str]:
    """Every section of an archive, local or answered by a part, in name order."""
    return sorted({*_EXPORTERS, *(section for part in _PARTS.values() for section in part.sections)})
