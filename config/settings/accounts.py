"""Account self-service: users, passwords, reset and verification links, erasure."""

from config.env import env
from config.settings.site import PUBLIC_BASE_URL

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Account self-service (apps/accounts). A password reset token stops working after this many
# seconds, and at once when the password changes (Django's PasswordResetTokenGenerator hashes
# the password); an email verification token after ACCOUNT_EMAIL_VERIFY_TIMEOUT.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
ACCOUNT_EMAIL_VERIFY_TIMEOUT = env.int("ACCOUNT_EMAIL_VERIFY_TIMEOUT", default=7 * 24 * 3600)
# The links put in account emails; {uid} and {token} are filled in. By default the small pages
# this site serves (apps/accounts/pages.py); a client application of your own posts both values
# to the API's confirm endpoints instead.
ACCOUNT_PASSWORD_RESET_URL = env(
    "ACCOUNT_PASSWORD_RESET_URL", default=PUBLIC_BASE_URL + "/account/reset-password/?uid={uid}&token={token}"
)
ACCOUNT_EMAIL_VERIFY_URL = env(
    "ACCOUNT_EMAIL_VERIFY_URL", default=PUBLIC_BASE_URL + "/account/verify-email/?uid={uid}&token={token}"
)
# Erased accounts get the address <id>@ this domain: reserved (RFC 2606), so never deliverable.
ACCOUNT_ERASED_EMAIL_DOMAIN = "deleted.invalid"
# The revocation marks of deleted and deactivated accounts (apps/accounts/revocation.py) are
# written again from the database at least this often.
ACCOUNT_REVOCATION_RELOAD_SECONDS = env.int("ACCOUNT_REVOCATION_RELOAD_SECONDS", default=60)
# Whether this deployment reads the users table for them (not the notifications deployment).
ACCOUNT_REVOCATION_FROM_DATABASE = True
# A user's data export (POST /api/v1/accounts/me/export/): one per this many seconds, and its
# emailed download link works for ACCOUNT_EXPORT_LINK_TTL seconds.
ACCOUNT_EXPORT_INTERVAL = env.int("ACCOUNT_EXPORT_INTERVAL", default=24 * 3600)
ACCOUNT_EXPORT_LINK_TTL = env.int("ACCOUNT_EXPORT_LINK_TTL", default=7 * 24 * 3600)
# The download link in the export email; {uid} (the export's id) and {token} are filled in.
ACCOUNT_EXPORT_URL = env(
    "ACCOUNT_EXPORT_URL", default=PUBLIC_BASE_URL + "/api/v1/accounts/exports/{uid}/?token={token}"
)
