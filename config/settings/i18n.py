"""Language and time: UTC everywhere; times are shown in the recipient's zone by the code that needs it."""

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
