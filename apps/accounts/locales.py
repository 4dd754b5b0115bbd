"""An account's language (``User.locale``): the one its notices are worded in."""

from django.utils import translation
from django.utils.translation import trans_real

from apps.accounts.models import DEFAULT_LOCALE


def locale_from_accept_language(header: str) -> str:
    """The first of ``settings.LANGUAGES`` the header accepts, in its order of preference
    (``de-AT,de;q=0.9`` → ``de``); English when it names none of them or is malformed."""
    for code, _quality in trans_real.parse_accept_lang_header(header or ""):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return DEFAULT_LOCALE
