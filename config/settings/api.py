"""Django REST framework: authentication, throttles, the one error shape, HTTP caching of public reads."""

from datetime import timedelta

from config.env import env

# --- REST API ----------------------------------------------------------------------------
# Failed sign-ins (POST /api/v1/auth/token/) per account (email, any IP): with 9/min the tenth
# attempt after nine failures in a minute is refused. A name of its own so tests can check the
# shipped default while test settings lift every rate.
THROTTLE_LOGIN_ACCOUNT = env("THROTTLE_LOGIN_ACCOUNT", default="9/min")
# After the throttle cache (Redis) fails, a process lets requests through without asking it
# for this many seconds (see apps/core/throttling.py).
THROTTLE_FAIL_OPEN_SECONDS = env.float("THROTTLE_FAIL_OPEN_SECONDS", default=5.0)
# The share of a rate a process may admit without asking Redis, and how often it reports its
# counts (apps/core/throttling.py: the tolerance this gives). 0: every request asks Redis.
THROTTLE_LOCAL_SHARE = env.float("THROTTLE_LOCAL_SHARE", default=0.05)
THROTTLE_SYNC_SECONDS = env.float("THROTTLE_SYNC_SECONDS", default=0.5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.renderers.ORJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "apps.core.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttling.AnonRateThrottle",
        "apps.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="600/min"),
        # The public reads (summary, provider list and profile, categories) per client IP; off by
        # default: limit them at the edge (apps/core/throttling.py PublicReadThrottle says why).
        "public_read": env("THROTTLE_PUBLIC_READ", default="") or None,
        "user": env("THROTTLE_USER", default="1200/min"),
        "rating_submit": env("THROTTLE_RATING_SUBMIT", default="30/min"),
        # Helpful votes per account and per client IP (whichever account).
        "helpful_vote": env("THROTTLE_HELPFUL_VOTE", default="60/hour"),
        "helpful_vote_ip": env("THROTTLE_HELPFUL_VOTE_IP", default="120/hour"),
        "login_account": THROTTLE_LOGIN_ACCOUNT,
        # Failed sign-ins per client IP, any account.
        "login_ip": env("THROTTLE_LOGIN_IP", default="30/min"),
        "webhook_test": env("THROTTLE_WEBHOOK_TEST", default="5/min"),
        # Partner API requests per partner key.
        "partner": env("THROTTLE_PARTNER", default="600/min"),
        # Account self-service: password changes per user, reset and verification emails per
        # address (any IP) and per client IP.
        "password_change": env("THROTTLE_PASSWORD_CHANGE", default="5/min"),
        "account_email": env("THROTTLE_ACCOUNT_EMAIL", default="3/hour"),
        "account_email_ip": env("THROTTLE_ACCOUNT_EMAIL_IP", default="20/hour"),
    },
    # Number of trusted reverse proxies in front of the app; the client IP used for
    # throttling is taken that many hops from the right of X-Forwarded-For. 0 ignores the
    # header (DRF's None would trust whatever a client puts in it and let it dodge limits).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "apps.core.errors.ExceptionHandler",
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "413", "415", "429", "500"],
    # 401 adds simplejwt's token_not_valid to the package's codes; 413 is a body over
    # DATA_UPLOAD_MAX_MEMORY_SIZE (documented on operations that take a body).
    "ERROR_SCHEMAS": {
        "401": "apps.core.openapi.ErrorResponse401Serializer",
        "413": "apps.core.openapi.ErrorResponse413Serializer",
    },
}

# Public reads (rating summary, provider profile and list) carry an ETag and answer
# If-None-Match with 304; a shared cache may keep them this many seconds (0: revalidate on
# every use, so a summary is never stale after a 201).
PUBLIC_READ_MAX_AGE = env.int("PUBLIC_READ_MAX_AGE", default=0)

# Idempotency-Key replays (apps/core/idempotency.py) are kept this long.
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))
