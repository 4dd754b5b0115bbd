"""Language and time: UTC everywhere; times are shown in the recipient's zone by the code that needs it.

Notices are worded in their recipient's language (``User.locale``, one of ``LANGUAGES``): the
notifications intake builds their text under ``translation.override``. The pages users reach are
in their reader's language too, else the browser's (``apps.core.pages.page_language``, per view:
no LocaleMiddleware, so the JSON API and the admin stay English). The message files are
``locale/<lang>/LC_MESSAGES/django.po``, compiled by ``make install`` (``pybabel compile``).
"""

from config.env import BASE_DIR

LANGUAGE_CODE = "en-us"
# The languages a user can choose; English is the source text, and the fallback for a user
# without a choice.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
