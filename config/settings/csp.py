"""Content-Security-Policy (django-csp)."""

from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE

# Every HTML page (Swagger UI, Redoc, the admin) loads only same-origin assets, so 'self' is
# enough; the one inline script (Swagger UI's initialiser) carries the per-request nonce
# (templates/drf_spectacular/swagger_ui.html). Styles stay 'unsafe-inline': Redoc's
# styled-components and Swagger UI write <style> elements and style attributes at runtime, and
# CSS cannot run code. Redoc parses the schema in a Web Worker created from a blob: URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, CSP_UNSAFE_INLINE],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF, "data:"],
        "worker-src": [CSP_SELF, "blob:"],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}
