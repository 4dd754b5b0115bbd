"""Pages of the notifications app outside the JSON API: the live inbox and one-click unsubscribe.

The live inbox (``/inbox/``, session sign-in) renders the newest items and the unread count;
``static/notifications/inbox.js`` then follows the Server-Sent Events stream.

One-click unsubscribe (RFC 8058), reached from an email: GET shows a confirmation page (link
scanners must not unsubscribe anyone); POST, which mail clients send with
``List-Unsubscribe=One-Click``, switches the preference off. The signed token is the only
credential, hence no CSRF check on POST.
"""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.exceptions import ApplicationError
from apps.notifications import selectors
from apps.notifications.delivery.channels.email.message import unsubscribe_token_read
from apps.notifications.events import EVENT_TYPES
from apps.notifications.services import unsubscribe


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token: str) -> HttpResponse:
    try:
        payload = unsubscribe_token_read(token)
    except signing.BadSignature:
        return HttpResponse("This unsubscribe link is invalid.", status=400, content_type="text/plain")
    spec = EVENT_TYPES.get(payload.get("t"))
    if spec is None:
        return HttpResponse("This unsubscribe link is no longer valid.", status=400, content_type="text/plain")
    context = {"label": spec.label, "done": False}
    if request.method == "POST":
        try:
            unsubscribe(recipient_id=payload["r"], event_type=payload["t"], channel=payload["c"])
        except ApplicationError as exc:
            return HttpResponse(str(exc.detail), status=400, content_type="text/plain")
        context["done"] = True
    return render(request, "notifications/unsubscribe.html", context)


# The page shows this many items; older ones are in the API's paginated list.
INBOX_PAGE_ITEMS = 50


class InboxLoginView(LoginView):
    template_name = "notifications/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("inbox")


@login_required(login_url=reverse_lazy("inbox-login"))
@require_http_methods(["GET"])
def inbox_view(request) -> HttpResponse:
    recipient_id = UUID(str(request.user.pk))
    items = selectors.notification_list(recipient_id=recipient_id)[:INBOX_PAGE_ITEMS]
    unread = selectors.notification_unread_count(recipient_id=recipient_id)
    return render(request, "notifications/inbox.html", {"items": items, "unread": unread})
