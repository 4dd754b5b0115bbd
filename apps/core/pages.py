"""The language of a server-rendered page: the reader's own when the page knows the reader, else
the browser's.

A view, not a middleware: only the few pages meant for the marketplace's users are translated
(the inbox, its sign-in, the pages the emails link to, the landing page), and only such a view
knows whose page it is (the signed-in user, the user a signed link names). The JSON API, the
admin and the API docs stay as they are and pay nothing for it.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.template.response import SimpleTemplateResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

# The reader's language, or None when the view does not know the reader (or their language).
ReaderLocale = Callable[..., str | None]


def page_language(reader_locale: ReaderLocale | None = None):
    """Render the decorated view in ``reader_locale(request, *args, **kwargs)`` when that is one
    of ``settings.LANGUAGES``, else in the first of them the browser's ``Accept-Language``
    accepts (English by default), and say so in ``Content-Language``.

    The browser's choice is Django's ``get_language_from_request``: Django's language cookie
    first (nothing on this site sets it), then ``Accept-Language``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            language = reader_locale(request, *args, **kwargs) if reader_locale else None
            from_browser = language not in dict(settings.LANGUAGES)
            if from_browser:
                language = translation.get_language_from_request(request)
            with translation.override(language):
                response = view(request, *args, **kwargs)
                # A class-based view's TemplateResponse would otherwise be rendered after the
                # override has ended, in the default language.
                if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                    response.render()
            response.headers.setdefault("Content-Language", language)
            if from_browser:
                patch_vary_headers(response, ["Accept-Language"])
            return response

        return wrapped

    return decorator
