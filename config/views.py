"""The landing page at ``/``: what this service is and where to go next.

It lives in config, beside the URLs it points at, because it spans the apps: the API docs, the
admin, the inbox and, in a demo, the demo accounts of the ratings app. In the browser's language
(``apps.core.pages.page_language``): it is the page the inbox's and the account pages' links
back lead to.
"""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.accounts.models import User
from apps.core.pages import page_language
from apps.ratings.demo import CUSTOMERS, DEMO_PASSWORD, STAFF_EMAIL, demo_accounts


@require_safe
@page_language()
def landing(request):
    # Demo sign-ins are shown only by a development server (DEBUG) whose database holds the demo.
    demo = settings.DEBUG and User.objects.filter(email=STAFF_EMAIL).exists()
    return render(
        request,
        "landing.html",
        {
            "demo_accounts": demo_accounts() if demo else [],
            "demo_password": DEMO_PASSWORD,
            # The sign-in example works as written against the demo.
            "example_email": CUSTOMERS[0][0] if demo else "you@example.com",
            "example_password": DEMO_PASSWORD if demo else "your-password",
            "api_base": request.build_absolute_uri("/api/v1"),
        },
    )


_FAVICON = finders.find("favicon.svg")


@require_safe
def favicon(request):
    # Browsers ask for /favicon.ico whatever the page says; an SVG under that name is shown.
    with open(_FAVICON, "rb") as f:
        body = f.read()
    response = HttpResponse(body, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
