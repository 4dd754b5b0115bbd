"""The OpenAPI document (drf-spectacular)."""

_ERROR_ENUMS = "drf_standardized_errors.openapi_serializers"
SPECTACULAR_SETTINGS = {
    "TITLE": "Marketplace Ratings API",
    "DESCRIPTION": (
        "Customers rate service providers; providers see an exact rating summary and are "
        "notified of every new rating. Every error uses one shape: "
        "`{type, errors: [{code, detail, attr}]}`."
    ),
    "VERSION": "1.0.0",
    "TAGS": [
        {
            "name": "auth",
            "description": (
                "Sign in with an email and password for a JWT access and refresh token pair; renew and revoke them."
            ),
        },
        {"name": "customers", "description": "Customer accounts: the people who rate providers."},
        {
            "name": "providers",
            "description": "Service providers: the public directory with rating summaries, registration and profiles.",
        },
        {
            "name": "ratings",
            "description": (
                "Ratings from 1 to 5 stars with a comment, replies, reports to moderators, and "
                "verified ratings through partner invitations."
            ),
        },
        {"name": "notifications", "description": "The signed-in user's in-app inbox and notification preferences."},
        {
            "name": "webhooks",
            "description": (
                "Signed webhook endpoints for a user's events, and the log of every email, push and webhook delivery."
            ),
        },
        {
            "name": "partner",
            "description": (
                "The partner API for a marketplace's backend, authenticated with a partner API key only: "
                "customers, service providers, ratings, average ratings and a consume-on-read notification "
                "feed, with the paths and bodies of the Homerun services. Errors here use the shape "
                "`{status, message, details?: [{field, error}]}`."
            ),
        },
        {"name": "push", "description": "Push devices that receive notifications through the push gateways."},
        {"name": "ops", "description": "Liveness and readiness probes for orchestrators and load balancers."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to validator.swagger.io from the browser: the docs use only local assets.
    "SWAGGER_UI_SETTINGS": {
        "validatorUrl": None,
        "deepLinking": True,
        "persistAuthorization": True,
        # An operation fits a screen: each response shows its schema folded (one line), not a
        # worked example; "Example Value" is a click away.
        "defaultModelRendering": "model",
        "defaultModelExpandDepth": 0,
    },
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": f"{_ERROR_ENUMS}.ValidationErrorEnum.choices",
        "ClientErrorEnum": f"{_ERROR_ENUMS}.ClientErrorEnum.choices",
        "ServerErrorEnum": f"{_ERROR_ENUMS}.ServerErrorEnum.choices",
        "ErrorCode401Enum": "apps.core.openapi.ErrorCode401Enum.choices",
        "ErrorCode403Enum": f"{_ERROR_ENUMS}.ErrorCode403Enum.choices",
        "ErrorCode404Enum": f"{_ERROR_ENUMS}.ErrorCode404Enum.choices",
        "ErrorCode405Enum": f"{_ERROR_ENUMS}.ErrorCode405Enum.choices",
        "ErrorCode406Enum": f"{_ERROR_ENUMS}.ErrorCode406Enum.choices",
        "ErrorCode413Enum": "apps.core.openapi.ErrorCode413Enum.choices",
        "ErrorCode415Enum": f"{_ERROR_ENUMS}.ErrorCode415Enum.choices",
        "ErrorCode429Enum": f"{_ERROR_ENUMS}.ErrorCode429Enum.choices",
        "ErrorCode500Enum": f"{_ERROR_ENUMS}.ErrorCode500Enum.choices",
        # Webhook subscriptions and preference switches name the same event types.
        "EventTypeEnum": "apps.notifications.events.EVENT_TYPE_NAMES",
        "RatingStatusEnum": "apps.ratings.models.RatingStatus.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "apps.core.openapi.postprocess_indexed_attrs",
        "apps.core.openapi.postprocess_bearer_first",
    ],
}
