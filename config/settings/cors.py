"""Browsers on another origin (django-cors-headers)."""

from config.env import env

# Browser front-ends on another origin call the API with a bearer token, never cookies, so
# credentials stay off; the default (no origins) allows no cross-origin reads at all.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# The partner API's Homerun paths (/v1/…, /healthcheck) too, as Homerun allowed browsers there.
CORS_URLS_REGEX = r"^/(api/.*|v1/.*|healthcheck)$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "idempotency-key")
CORS_EXPOSE_HEADERS = ("retry-after",)
CORS_PREFLIGHT_MAX_AGE = 3600
