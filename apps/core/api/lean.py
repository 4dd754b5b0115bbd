"""A lean path for the hottest public reads: the same answer without DRF's per-request work.

A public read such as a provider's rating summary is one key lookup, yet DRF's dispatch
around it (the ``Request`` wrapper, negotiation, the permission and throttle loops, the
``Response`` and its renderer context) cost more CPU than the lookup itself. A view with
``LeanGetMixin`` answers the *plain* form of its GET directly:

- the method is GET, with no ``?format=`` override;
- the client accepts JSON: no ``Accept`` header, ``*/*`` or ``application/json``;
- ``lean_get(request, **kwargs)`` returns the body's data (it returns None to decline, e.g.
  for a provider that does not exist: DRF then answers, 404 in the error shape);
- the public reads' throttle (``THROTTLE_PUBLIC_READ``) is off, as it is by default; with a
  rate set, every request goes through DRF and its throttle.

The answer is what DRF's path would send: the data rendered by the same renderer, the same
``Allow`` and ``Vary`` headers, and the ETag, ``Cache-Control`` and ``304`` of
``PublicReadCacheMixin``. A test per view compares the two paths header by header and byte by
byte (``apps/core/tests/api/test_lean.py``). Anything else (HEAD, OPTIONS, another method, the
browsable API, an ``Accept`` that asks for something else, a throttle switched on) goes through
DRF unchanged, so every error keeps the one error shape.
"""

from functools import update_wrapper

from django.http import HttpResponse
from rest_framework.settings import api_settings

from apps.core.api.caching import finalize_public_read
from apps.core.renderers import ORJSONRenderer
from apps.core.throttling import PublicReadThrottle

_JSON_ACCEPTS = frozenset(("", "*/*", "application/json"))
_render = ORJSONRenderer().render


def is_plain_get(request) -> bool:
    return (
        request.method == "GET"
        and request.META.get("HTTP_ACCEPT", "") in _JSON_ACCEPTS
        and api_settings.URL_FORMAT_OVERRIDE not in request.GET
    )


class LeanGetMixin:
    """Serve the plain GET of a public read (a ``PublicReadCacheMixin`` view) from ``lean_get``."""

    @classmethod
    def lean_get(cls, request, **kwargs) -> dict | None:
        raise NotImplementedError

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)
        headers: dict[str, str] = {}

        def view(request, *args, **kwargs):
            # Read per request: a throttle rate switched on in the settings takes the DRF path.
            if is_plain_get(request) and PublicReadThrottle().rate is None:
                data = cls.lean_get(request, **kwargs)
                if data is not None:
                    if not headers:
                        # As DRF's dispatch has them: after setup(), which adds HEAD to a GET view.
                        instance = cls(**initkwargs)
                        instance.setup(request, *args, **kwargs)
                        headers.update(instance.default_response_headers)
                    response = HttpResponse(_render(data), content_type="application/json")
                    for name, value in headers.items():
                        response[name] = value
                    return finalize_public_read(request, response)
            return drf_view(request, *args, **kwargs)

        # drf-spectacular, the URL resolver and the CSRF middleware read these off the view.
        update_wrapper(view, drf_view, updated=())
        view.__dict__.update(drf_view.__dict__)
        return view
