"""Settings shared by every deployment: Django itself, and each concern's module below.

Every environment variable is read through the one ``environ.Env`` of ``config/env.py``, each
in exactly one module; ``local``, ``test``, ``production`` and ``notifications`` sit on top.
"""

import environ

from config.env import BASE_DIR, VAR_DIR, env

# `.env` is a developer's convenience (git-ignored), read only on opt-in, cookiecutter-django's
# DJANGO_READ_DOT_ENV_FILE: a stray file on a server must not change what production runs with.
# The embedded settings (local, test) opt in by default; the real environment always wins.
READ_DOT_ENV_FILE = env.bool("DJANGO_READ_DOT_ENV_FILE", default=False)
if READ_DOT_ENV_FILE:
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="").strip()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "rest_framework_api_key",
    "corsheaders",
    # Its system checks flag settings left in the pre-4.0 format.
    "csp",
]
LOCAL_APPS = [
    "apps.core",
    "apps.accounts",
    "apps.customers",
    "apps.providers",
    "apps.ratings",
    "apps.notifications",
    "apps.partners",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "apps.core.metrics.RequestMetricsMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    # Above the error-shape middleware so a browser on an allowed origin can read error bodies too.
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.errors.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, CSRF, auth, messages, clickjacking and django-csp middleware, each
    # skipped for a JSON API request that has no session cookie and does not ask for HTML
    # (apps/core/browser.py): only browser pages need them.
    "apps.core.browser.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.browser.BrowserCsrfViewMiddleware",
    "apps.core.browser.BrowserAuthenticationMiddleware",
    "apps.core.browser.BrowserMessageMiddleware",
    "apps.core.browser.BrowserXFrameOptionsMiddleware",
    "apps.core.browser.BrowserCSPMiddleware",
]
# Django looks for its own CSRF and clickjacking classes by name; apps/core/checks.py asks the
# same of the browser-only subclasses above (core.W002, core.W003).
SILENCED_SYSTEM_CHECKS = ["security.W002", "security.W003"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# One module per concern; each reads its own environment variables.
from config.settings.accounts import *  # noqa: E402, F403
from config.settings.api import *  # noqa: E402, F403
from config.settings.cache import *  # noqa: E402, F403
from config.settings.celery import *  # noqa: E402, F403
from config.settings.cors import *  # noqa: E402, F403
from config.settings.csp import *  # noqa: E402, F403
from config.settings.database import *  # noqa: E402, F403
from config.settings.delivery import *  # noqa: E402, F403
from config.settings.email_sending import *  # noqa: E402, F403
from config.settings.i18n import *  # noqa: E402, F403
from config.settings.jwt import *  # noqa: E402, F403
from config.settings.observability import *  # noqa: E402, F403
from config.settings.openapi import *  # noqa: E402, F403
from config.settings.outbox import *  # noqa: E402, F403
from config.settings.ratings import *  # noqa: E402, F403
from config.settings.retention import *  # noqa: E402, F403
from config.settings.site import *  # noqa: E402, F403
from config.settings.stream import *  # noqa: E402, F403
