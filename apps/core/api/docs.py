"""Redoc served with no request to another host.

Redoc's standalone bundle (drf-spectacular-sidecar) draws an "API docs by Redocly" badge whose
logo it fetches from cdn.redoc.ly, and no Redoc option turns the badge off. The docs must load
nothing from another host, so the bundle is served from here with that one URL pointed at a
copy of the logo among this app's static files.
"""

import hashlib
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import condition, require_safe
from drf_spectacular.views import SpectacularRedocView

SIDECAR_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REMOTE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = "docs/redoc-logo-mini.svg"
# A day: the bundle changes only with a new release of the sidecar package, and the ETag
# revalidates it after that.
MAX_AGE = 24 * 60 * 60


@lru_cache(maxsize=1)
def redoc_bundle() -> tuple[bytes, str]:
    """The sidecar's bundle with the logo made local, and its ETag (the same in every process)."""
    source = Path(finders.find(SIDECAR_BUNDLE)).read_bytes()
    bundle = source.replace(REMOTE_LOGO.encode(), static(LOCAL_LOGO).encode())
    return bundle, hashlib.sha256(bundle).hexdigest()[:32]


@require_safe
@condition(etag_func=lambda request: redoc_bundle()[1])
def redoc_bundle_view(request):
    response = HttpResponse(redoc_bundle()[0], content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


class RedocView(SpectacularRedocView):
    """drf-spectacular's Redoc page, loading the bundle above instead of the sidecar's file."""

    @staticmethod
    def _redoc_standalone():
        return reverse("redoc-bundle")
