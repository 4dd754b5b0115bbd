"""HTTP caching of the public reads: ``ETag``, ``Cache-Control`` and ``304 Not Modified``.

The rating summary, a provider's profile and the provider list are the same for every caller,
so a CDN or reverse proxy may keep them. The ETag is a hash of the body as sent: it changes
exactly when the representation does (a new rating moves the summary, so the next
revalidation gets the new body), and a client or proxy that presents it in ``If-None-Match``
gets ``304`` with no body. ``Cache-Control`` lets a shared cache keep a response for
PUBLIC_READ_MAX_AGE seconds; the default 0 has it revalidate on every request, which keeps
the promise that a summary is never stale after a 201 and still saves the transfer.
"""

import hashlib

from django.conf import settings
from django.http import HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from apps.core.throttling import PublicReadThrottle

IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="An `ETag` from an earlier answer: `304 Not Modified`, without a body, while it still matches.",
)
NOT_MODIFIED_RESPONSE = OpenApiResponse(description="Not modified: the `ETag` in `If-None-Match` still matches.")


def _etag(content: bytes) -> str:
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2), as If-None-Match requires; "*" matches any current body.
    tags = parse_etags(if_none_match)
    return "*" in tags or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}


class PublicReadCacheMixin:
    """For views whose GET is the same for every caller: ETag, Cache-Control, 304.

    Their GET is throttled by ``PublicReadThrottle`` alone (per IP, off by default); their
    other methods keep the default throttles.
    """

    def get_throttles(self):
        if self.request.method in ("GET", "HEAD"):
            return [PublicReadThrottle()]
        return super().get_throttles()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        response.render()
        return finalize_public_read(request, response)


def finalize_public_read(request, response):
    """ETag and Cache-Control on a rendered 200 of a public read, or the 304 that replaces it."""
    etag = _etag(response.content)
    if _matches(request.headers.get("If-None-Match", ""), etag):
        not_modified = HttpResponseNotModified()
        for header in ("Vary", "Allow"):
            if header in response:
                not_modified[header] = response[header]
        response = not_modified
    response["ETag"] = etag
    max_age = settings.PUBLIC_READ_MAX_AGE
    if max_age > 0:
        patch_cache_control(response, public=True, max_age=max_age)
    else:
        # Storable, but revalidated on every use (a 304 when nothing changed).
        patch_cache_control(response, public=True, no_cache=True)
    return response
