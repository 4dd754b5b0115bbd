"""The pages the account emails link to: set a new password, confirm an address.

Small server-rendered forms (no script, so the site's Content-Security-Policy applies as is).
GET only shows a form: mail scanners that open links must not use a single-use reset token or
confirm an address; the POST does the work, through the same services as the JSON API.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import APIException, ValidationError

from apps.accounts import services


def _messages(exc: APIException) -> list[str]:
    if isinstance(exc, ValidationError) and isinstance(exc.detail, dict):
        return [str(message) for messages in exc.detail.values() for message in messages]
    return [str(exc.detail)]


def _link(request) -> tuple[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return source.get("uid", "").strip(), source.get("token", "").strip()


@require_http_methods(["GET", "POST"])
def password_reset_page(request) -> HttpResponse:
    uid, token = _link(request)
    context = {"uid": uid, "token": token, "errors": [], "done": False}
    if not uid or not token:
        context["errors"] = ["This link is incomplete: open the whole link from the email."]
        return render(request, "accounts/password_reset.html", context, status=400)
    if request.method == "POST":
        password, again = request.POST.get("new_password", ""), request.POST.get("new_password_again", "")
        if password != again:
            context["errors"] = ["The two passwords differ."]
            return render(request, "accounts/password_reset.html", context, status=400)
        try:
            services.password_reset_confirm(uid=uid, token=token, new_password=password)
        except APIException as exc:
            context["errors"] = _messages(exc)
            return render(request, "accounts/password_reset.html", context, status=exc.status_code)
        context["done"] = True
    return render(request, "accounts/password_reset.html", context)


@require_http_methods(["GET", "POST"])
def email_verify_page(request) -> HttpResponse:
    uid, token = _link(request)
    context = {"uid": uid, "token": token, "errors": [], "email": None}
    if not uid or not token:
        context["errors"] = ["This link is incomplete: open the whole link from the email."]
        return render(request, "accounts/email_verify.html", context, status=400)
    if request.method == "POST":
        try:
            user = services.email_verify_confirm(uid=uid, token=token)
        except APIException as exc:
            context["errors"] = _messages(exc)
            return render(request, "accounts/email_verify.html", context, status=exc.status_code)
        context["email"] = user.email
    return render(request, "accounts/email_verify.html", context)
