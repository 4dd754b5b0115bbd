"""A user's data export ("your data, yours"): requested through the API, built by a task, mailed.

The archive gathers the sections every app registers with ``apps.core.exports`` (in its
``AppConfig.ready``): this app knows none of them, as the layers require (accounts may not
import ratings or notifications). Local sections are read by the build task; a remote part
(the notifications app's, whose database may be another deployment's) is asked for through
the outbox and answered by ``accounts.data_export_attach``, the same round trip in the
monolith as in the split deployment. The link in the email is a signed token of the export's id,
valid for ``ACCOUNT_EXPORT_LINK_TTL``; a user asks at most once per ``ACCOUNT_EXPORT_INTERVAL``.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from apps.accounts import events
from apps.accounts.models import DataExport, User
from apps.core.exceptions import ApplicationError, NotFound
from apps.core.exports import export_part, export_parts, export_sections
from apps.core.outbox import DEFAULT_QUEUE, outbox_confirm
from apps.core.retention import Purge

logger = logging.getLogger(__name__)

ARCHIVE_FORMAT = "marketplace-ratings.export/1"
_SALT = "accounts.data-export"
BUILD_TASK = "accounts.data_export_build"
# The outbox's batch of build requests (``events.DataExportRequested``); BUILD_TASK, one
# export id, is what requests made before the outbox carried them are still queued as.
BUILD_REQUESTS_TASK = "accounts.data_export_build_requests"
ATTACH_TASK = "accounts.data_export_attach"


class ExportTooSoon(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "export_too_soon"
    default_detail = "One data export per day."

    def __init__(self, available_at):
        self.available_at = available_at
        super().__init__(f"One data export per day: the next can be asked for at {_z(available_at)}.")


class ExportLinkExpired(ApplicationError):
    status_code = status.HTTP_410_GONE
    default_code = "export_link_expired"
    default_detail = "This download link has expired: ask for a new export."


def _z(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _token(export: DataExport) -> str:
    return signing.dumps(str(export.pk), salt=_SALT)


@transaction.atomic
def data_export_request(*, user: User) -> DataExport:
    """Record the request and queue the build after commit; 429 ``export_too_soon`` within the interval.

    The user's row is locked first, so two requests at once make one export, not two.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    last = DataExport.objects.filter(user=user).order_by("-requested_at").first()
    now = timezone.now()
    if last is not None:
        available_at = last.requested_at + timedelta(seconds=settings.ACCOUNT_EXPORT_INTERVAL)
        if available_at > now:
            raise ExportTooSoon(available_at)
    export = DataExport.objects.create(user=user, requested_at=now)
    # Through the outbox, in this transaction: a broker down at this moment delays the build
    # rather than losing it (the user could not ask again for a day).
    events.publish(
        events.DataExportRequested(recipient_user_id=str(user.pk), export_id=str(export.pk)),
        task_name=BUILD_REQUESTS_TASK,
        queue=DEFAULT_QUEUE,
    )
    return export


def data_export_build_requests(*, envelopes: list[dict]) -> int:
    """Build the export each outbox request names (``events.DataExportRequested``), each in its
    own transaction, which confirms the request. Returns how many were built.

    Idempotent as the build is: a request delivered twice finds its export built. A message
    that is not such a request is logged and left unconfirmed, for staff to see once it is dead.
    """
    built = 0
    for envelope in envelopes:
        data = envelope.get("data") if isinstance(envelope, dict) else None
        if (
            not isinstance(data, dict)
            or (envelope.get("type"), envelope.get("version"))
            != (events.DataExportRequested.TYPE, events.DataExportRequested.VERSION)
            or not isinstance(envelope.get("id"), str)
            or not isinstance(data.get("export_id"), str)
        ):
            logger.warning("accounts: not a data export request, skipped: %r", envelope)
            continue
        built += data_export_build(export_id=data["export_id"], request_id=envelope["id"])
    return built


def data_export_archive(user: User, *, at) -> dict:
    """The archive's head and its local sections (the remote parts' are attached later)."""
    return {
        "format": ARCHIVE_FORMAT,
        "generated_at": _z(at),
        "account": {
            "id": str(user.pk),
            "email": user.email,
            "name": user.name,
            "date_joined": _z(user.date_joined),
            "last_login": _z(user.last_login) if user.last_login else None,
            "email_verified_at": _z(user.email_verified_at) if user.email_verified_at else None,
            "is_staff": user.is_staff,
        },
        **export_sections(user),
    }


_HEAD = ("format", "generated_at", "account")


def _in_order(archive: dict) -> dict:
    """The archive's documented order: its head, then every section by name, wherever it came from.

    Applied again when it is served: PostgreSQL's jsonb keeps its own key order, not ours.
    """
    return {
        **{name: archive[name] for name in _HEAD},
        **{name: archive[name] for name in sorted(archive) if name not in _HEAD},
    }


def _ready(export: DataExport, *, now) -> None:
    """Complete ``export`` (its row locked) and publish its email, in the caller's transaction."""
    export.archive = _in_order({**export.archive, "generated_at": _z(now)})
    export.parts_awaited = []
    export.status = DataExport.Status.READY
    export.ready_at = now
    export.expires_at = now + timedelta(seconds=settings.ACCOUNT_EXPORT_LINK_TTL)
    export.save(update_fields=["archive", "parts_awaited", "status", "ready_at", "expires_at"])
    token = _token(export)
    url = settings.ACCOUNT_EXPORT_URL.format(uid=export.pk, token=token)
    ready = events.DataExportReady.of(
        export.user, url=url, uid=str(export.pk), token=token, expires_at=_z(export.expires_at)
    )
    events.publish(ready)
    logger.info("accounts: data export %s ready (%d sections)", export.pk, len(export.archive) - 2)


def data_export_build(*, export_id, request_id: str | None = None) -> bool:
    """Build the local sections and ask each remote part for its own; ``False`` when there was nothing to do.

    With no remote part registered the export is ready at once: archive stored and email
    published in one transaction. Otherwise the requests go to the outbox in that transaction
    (nothing is asked for a build that rolled back, nothing is lost when the worker dies after
    the commit) and ``data_export_attach`` completes the export when the last answer arrives.
    Idempotent: a delivered-twice task finds the export built (or gone, with its user) and stops.
    ``request_id``, the outbox request that asked, is confirmed in the same transaction.
    """
    with transaction.atomic():
        # The export's row first, then the outbox's, as the attach takes them.
        export = DataExport.objects.select_for_update().select_related("user").filter(pk=export_id).first()
        if request_id:
            outbox_confirm(event_ids=[request_id])
        if export is None or export.archive is not None:
            return False
        now, parts = timezone.now(), export_parts()
        export.archive = data_export_archive(export.user, at=now)
        if not parts:
            _ready(export, now=now)
            return True
        export.parts_awaited = [part.name for part in parts]
        export.save(update_fields=["archive", "parts_awaited"])
        for part in parts:
            request = events.DataExportPartRequested(
                recipient_user_id=str(export.user_id),
                export_id=str(export.pk),
                part=part.name,
                reply_task=ATTACH_TASK,
                reply_queue=DEFAULT_QUEUE,
            )
            events.publish(request, task_name=part.task, queue=part.queue)
    logger.info("accounts: data export %s built locally, awaiting %s", export.pk, ", ".join(export.parts_awaited))
    return True


def data_export_attach(*, export_id, part: str, sections: dict, request_id: str | None = None) -> bool:
    """Attach a remote part's ``sections``; the last one makes the export ready and publishes its email.

    ``request_id`` (the outbox event that asked) is confirmed in the same transaction, whatever
    the outcome: the question is answered and must not be sent again. Only the sections the
    part registered are kept. ``False`` when there was nothing to do: the export is gone (with
    its user), ready, or not awaiting this part (a delivered-twice answer).
    """
    with transaction.atomic():
        # The export's row first, as the build takes it, then the outbox's.
        export = DataExport.objects.select_for_update().select_related("user").filter(pk=export_id).first()
        if request_id:
            outbox_confirm(event_ids=[request_id])
        if export is None or export.status == DataExport.Status.READY or part not in export.parts_awaited:
            return False
        registered = export_part(part)
        names = registered.sections if registered is not None else sorted(sections)
        export.archive.update({name: sections.get(name) for name in names})
        export.parts_awaited = [name for name in export.parts_awaited if name != part]
        if export.parts_awaited:
            export.save(update_fields=["archive", "parts_awaited"])
        else:
            _ready(export, now=timezone.now())
    logger.info("accounts: data export %s got its part %s", export_id, part)
    return True


def data_export_download(*, export_id, token: str) -> DataExport:
    """The ready export the token names; 404 for a wrong token, 410 once the link has expired."""
    try:
        signed_id = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise NotFound("No such export.") from None
    if signed_id != str(export_id):
        raise NotFound("No such export.")
    export = DataExport.objects.filter(pk=export_id, status=DataExport.Status.READY).first()
    if export is None:
        raise NotFound("No such export.")
    if export.expires_at <= timezone.now():
        raise ExportLinkExpired()
    export.archive = _in_order(export.archive)
    return export


DATA_EXPORTS_PURGE = Purge(
    name="account_exports",
    # Run by core's beat task (core.retention_purge), which purges the main database.
    app_label="core",
    model=DataExport,
    order_column="requested_at",
    condition="t.requested_at < %s",
    # Kept while it limits the next request or its link works, whichever is longer.
    retention=lambda: timedelta(seconds=max(settings.ACCOUNT_EXPORT_INTERVAL, settings.ACCOUNT_EXPORT_LINK_TTL)),
)
