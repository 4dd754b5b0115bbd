"""Email: the SMTP (or console) backend every email goes through."""

from config.env import env

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Marketplace Ratings <no-reply@marketplace-ratings.local>")
