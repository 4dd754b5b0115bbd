"""Deploy checks for the browser-only middleware (``apps/core/browser.py``).

Django's ``security.W002`` and ``security.W003`` look for its own clickjacking and CSRF classes
by name, so they cannot see their browser-only subclasses; settings silence those two, and these
checks ask the same question of both names instead.
"""

from django.conf import settings
from django.core.checks import Tags, Warning, register

CSRF = ("django.middleware.csrf.CsrfViewMiddleware", "apps.core.browser.BrowserCsrfViewMiddleware")
X_FRAME = ("django.middleware.clickjacking.XFrameOptionsMiddleware", "apps.core.browser.BrowserXFrameOptionsMiddleware")


@register(Tags.security, deploy=True)
def browser_middleware_check(app_configs, **kwargs) -> list[Warning]:
    installed = set(settings.MIDDLEWARE)
    problems = []
    if not installed.intersection(CSRF):
        problems.append(
            Warning(
                "Neither Django's CSRF middleware nor apps.core.browser.BrowserCsrfViewMiddleware is in MIDDLEWARE.",
                id="core.W003",
            )
        )
    if not installed.intersection(X_FRAME):
        problems.append(
            Warning(
                "Neither Django's clickjacking middleware nor apps.core.browser.BrowserXFrameOptionsMiddleware is in "
                "MIDDLEWARE: pages are served without an X-Frame-Options header.",
                id="core.W002",
            )
        )
    return problems
