"""The message files against the texts of the code: what a file marks for translation, and which
of those a catalogue lacks (shared by the notices' and the pages' tests)."""

import io
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
# The keywords makemessages gives xgettext beyond Babel's own: gettext_noop (texts translated
# later, from a variable: the notice types' labels) and the lazy forms (an error's default text).
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "gettext_noop": None,
    "gettext_lazy": None,
    "ngettext_lazy": (1, 2),
    "pgettext_lazy": ((1, "c"), 2),
}


def messages_of(path: Path) -> set[tuple[str | None, str]]:
    """(context, msgid) of every translatable text of a module or template, extracted as
    makemessages does (a template is first turned into gettext calls by Django's templatize)."""
    text = path.read_text()
    if path.suffix != ".py":
        # templatize writes each message as one repr()'d call on its line; the page's own
        # indentation left in front would be a Python indentation error to Babel's tokenizer
        # (xgettext, which makemessages runs, does not care).
        text = "\n".join(line.lstrip() for line in templatize(text, origin=str(path)).splitlines())
    found = set()
    for _lineno, message, _comments, context in extract("python", io.BytesIO(text.encode()), KEYWORDS):
        found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


def catalog(language: str):
    with (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as f:
        return read_po(f, locale=language)


def untranslated(language: str, paths: list[Path]) -> list[str]:
    """``path: msgid`` of each text of ``paths`` the language's catalogue lacks, leaves empty
    or marks fuzzy."""
    messages = catalog(language)
    missing = []
    for path in paths:
        for context, msgid in sorted(messages_of(path), key=str):
            message = messages.get(msgid, context=context)
            strings = message.string if message is not None and isinstance(message.string, tuple) else None
            if message is None or message.fuzzy or not all(strings or [message.string]):
                missing.append(f"{path.relative_to(ROOT)}: {msgid!r}")
    return missing
