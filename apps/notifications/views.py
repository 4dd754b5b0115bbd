"""Pages of the notifications app outside the JSON API: the live inbox and one-click unsubscribe.

The live inbox (``/inbox/``, session sign-in) renders the newest items and the unread count;
``static/notifications/inbox.js`` then follows the Server-Sent Events stream.

One-click unsubscribe (RFC 8058), reached from an email: GET shows a confirmation page (link
scanners must not unsubscribe anyone); POST, which mail clients send with
``List-Unsubscribe=One-Click``, switches the preference off. The signed token is the only
credential, hence no CSRF check on POST.

Each page is in its reader's language (``apps.core.pages.page_language``): the inbox in the
signed-in user's, the unsubscribe page in that of the recipient its token names as the accounts
app last published it, the sign-in page (and an unsubscribe link whose recipient never had a
language published) in the browser's.
"""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.exceptions import ApplicationError
from apps.core.pages import page_language
from apps.notifications import selectors
from apps.notifications.delivery.channels.email.message import unsubscribe_token_read
from apps.notifications.events import EVENT_TYPES
from apps.notifications.services import CriticalPreference, unsubscribe


def _plain(text: str) -> HttpResponse:
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def _token_reader_locale(request, token: str) -> str | None:
    try:
        recipient_id = UUID(str(unsubscribe_token_read(token)["r"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return selectors.recipient_locale(recipient_id=recipient_id)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@page_language(_token_reader_locale)
def unsubscribe_view(request, token: str) -> HttpResponse:
    try:
        payload = unsubscribe_token_read(token)
    except signing.BadSignature:
        return _plain(gettext("This unsubscribe link is invalid."))
    spec = EVENT_TYPES.get(payload.get("t"))
    if spec is None:
        return _plain(gettext("This unsubscribe link is no longer valid."))
    # The labels are marked with gettext_noop where the event types are declared.
    context = {"label": gettext(spec.label), "done": False}
    if request.method == "POST":
        try:
            unsubscribe(recipient_id=payload["r"], event_type=payload["t"], channel=payload["c"])
        except CriticalPreference:
            return _plain(gettext("These emails cannot be switched off."))
        except ApplicationError:
            # The token is signed: the type it names no longer has an email switch.
            return _plain(gettext("This unsubscribe link is no longer valid."))
        context["done"] = True
    return render(request, "notifications/unsubscribe.html", context)


# The page shows this many items; older ones are in the API's paginated list.
INBOX_PAGE_ITEMS = 50


@method_decorator(page_language(), name="dispatch")
class InboxLoginView(LoginView):
    template_name = "notifications/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("inbox")


def _signed_in_locale(request) -> str:
    # The session's user row is loaded already: its language costs no query. (login_required
    # has sent an anonymous visitor to the sign-in page before this is asked.)
    return request.user.locale


@login_required(login_url=reverse_lazy("inbox-login"))
@require_http_methods(["GET"])
@page_language(_signed_in_locale)
def inbox_view(request) -> HttpResponse:
    recipient_id = UUID(str(request.user.pk))
    items = selectors.notification_list(recipient_id=recipient_id)[:INBOX_PAGE_ITEMS]
    unread = selectors.notification_unread_count(recipient_id=recipient_id)
    return render(request, "notifications/inbox.html", {"items": items, "unread": unread})
