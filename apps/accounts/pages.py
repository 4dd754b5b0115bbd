"""The pages the account emails link to: set a new password, confirm an address.

Small server-rendered forms (no script, so the site's Content-Security-Policy applies as is).
GET only shows a form: mail scanners that open links must not use a single-use reset token or
confirm an address; the POST does the work, through the same services as the JSON API.

Each page is in the language of the user its link names, or in the browser's when the link names
no one (``apps.core.pages.page_language``).
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import APIException, ValidationError

from apps.accounts import selectors, services
from apps.core.pages import page_language


def _messages(exc: APIException) -> list[str]:
    if isinstance(exc, ValidationError) and isinstance(exc.detail, dict):
        return [str(message) for messages in exc.detail.values() for message in messages]
    return [str(exc.detail)]


def _link(request) -> tuple[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return source.get("uid", "").strip(), source.get("token", "").strip()


def _link_user_locale(request) -> str | None:
    uid, _token = _link(request)
    user = selectors.user_by_link_uid(uid=uid) if uid else None
    return user.locale if user else None


def _incomplete() -> list[str]:
    return [gettext("This link is incomplete: open the whole link from the email.")]


@require_http_methods(["GET", "POST"])
@page_language(_link_user_locale)
def password_reset_page(request) -> HttpResponse:
    uid, token = _link(request)
    context = {"uid": uid, "token": token, "errors": [], "done": False}
    if not uid or not token:
        context["errors"] = _incomplete()
        return render(request, "accounts/password_reset.html", context, status=400)
    if request.method == "POST":
        password, again = request.POST.get("new_password", ""), request.POST.get("new_password_again", "")
        if password != again:
            context["errors"] = [gettext("The two passwords differ.")]
            return render(request, "accounts/password_reset.html", context, status=400)
        try:
            services.password_reset_confirm(uid=uid, token=token, new_password=password)
        except APIException as exc:
            context["errors"] = _messages(exc)
            return render(request, "accounts/password_reset.html", context, status=exc.status_code)
        context["done"] = True
    return render(request, "accounts/password_reset.html", context)


@require_http_methods(["GET", "POST"])
@page_language(_link_user_locale)
def email_verify_page(request) -> HttpResponse:
    uid, token = _link(request)
    context = {"uid": uid, "token": token, "errors": [], "email": None}
    if not uid or not token:
        context["errors"] = _incomplete()
        return render(request, "accounts/email_verify.html", context, status=400)
    if request.method == "POST":
        try:
            user = services.email_verify_confirm(uid=uid, token=token)
        except APIException as exc:
            context["errors"] = _messages(exc)
            return render(request, "accounts/email_verify.html", context, status=exc.status_code)
        context["email"] = user.email
    return render(request, "accounts/email_verify.html", context)
