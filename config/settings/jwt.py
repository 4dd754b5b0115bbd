"""JWT authentication (djangorestframework-simplejwt)."""

from datetime import timedelta

from config.env import env

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "TOKEN_OBTAIN_SERIALIZER": "apps.accounts.api.serializers.TokenObtainInput",
}
# Optional: without it simplejwt signs with the final SECRET_KEY (its own default), whichever
# environment module set it.
JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", default="").strip()
if JWT_SIGNING_KEY:
    SIMPLE_JWT["SIGNING_KEY"] = JWT_SIGNING_KEY
