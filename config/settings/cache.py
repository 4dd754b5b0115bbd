"""The cache (Redis when REDIS_URL is set): throttles, breakers, concurrency slots."""

from config.env import env

REDIS_URL = env("REDIS_URL", default="").strip()
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="mr")
# Redis answers within milliseconds on a LAN; a shorter wait bounds what a hung Redis costs the
# requests that touch the cache (throttles, breakers).
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": CACHE_SOCKET_TIMEOUT, "socket_timeout": CACHE_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
