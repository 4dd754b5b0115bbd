"""The notifications app must stay deployable apart: it imports no other domain app.

The seam is the published events themselves: the envelopes the outbox carries, read by the
intake's handlers (``intake/handlers.py``) by type and version.
"""

import ast
from pathlib import Path

import apps.notifications

FORBIDDEN = ("apps.ratings", "apps.providers", "apps.customers", "apps.partners")
ROOT = Path(apps.notifications.__file__).parent


def _imported_modules(tree: ast.AST) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from apps.ratings import signals` imports apps.ratings.signals.
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for module in _imported_modules(ast.parse(path.read_text(), filename=str(path))):
            forbidden = any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
            if forbidden:
                found.append(f"{relative}: {module}")
    return found


def test_notifications_imports_no_other_domain_app():
    assert _violations() == []


def test_the_checker_catches_a_forbidden_import(tmp_path, monkeypatch):
    tree = ast.parse("from apps.ratings.models import Rating\nimport apps.providers.models\n")
    assert _imported_modules(tree) == {"apps.ratings.models.Rating", "apps.providers.models"}
