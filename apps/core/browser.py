"""The middleware only browser pages need, skipped for JSON API requests.

Sessions, CSRF, ``request.user`` from the session, messages, clickjacking and
Content-Security-Policy headers serve the HTML pages (admin, Swagger UI, Redoc, the inbox page,
the browsable API). A request to the JSON API (``/api/…`` other than the two documentation
pages, the partner paths, the probes and ``/metrics``) that carries no session cookie and does
not ask for HTML can use none of them: the API authenticates it by its token or key, DRF's
views are CSRF-exempt, and its JSON body is no document a frame, a script policy or a message
applies to. For such a request each of these middleware passes it straight on.

A browser using the API with its session (Swagger UI's "try it out" after an admin sign-in,
the browsable API) sends the session cookie or asks for HTML, and gets every middleware as
before: DRF's SessionAuthentication and its CSRF check still apply there.
"""

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware

# Paths that never serve an HTML page of their own (probes, metrics, the API, the partner API
# on Homerun's paths) ...
API_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", "/v1/")
# ... except these documentation pages under /api/.
PAGE_PREFIXES = ("/api/docs/", "/api/redoc/")


def is_api_request(request) -> bool:
    """An API request no browser-only middleware can serve (computed once per request)."""
    try:
        return request._api_request
    except AttributeError:
        path = request.path_info
        request._api_request = (
            path.startswith(API_PREFIXES)
            and not path.startswith(PAGE_PREFIXES)
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and "text/html" not in request.META.get("HTTP_ACCEPT", "")
        )
        return request._api_request


class _BrowserOnly:
    def __call__(self, request):
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class BrowserSessionMiddleware(_BrowserOnly, SessionMiddleware):
    pass


class BrowserCsrfViewMiddleware(_BrowserOnly, CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class BrowserAuthenticationMiddleware(_BrowserOnly, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_BrowserOnly, MessageMiddleware):
    pass


class BrowserXFrameOptionsMiddleware(_BrowserOnly, XFrameOptionsMiddleware):
    pass


class BrowserCSPMiddleware(_BrowserOnly, CSPMiddleware):
    pass
