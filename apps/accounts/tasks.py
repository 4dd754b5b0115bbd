from celery import shared_task

from apps.accounts.exports import ATTACH_TASK, BUILD_REQUESTS_TASK, BUILD_TASK
from apps.accounts.exports import data_export_attach as attach
from apps.accounts.exports import data_export_build as build
from apps.accounts.exports import data_export_build_requests as build_requests


@shared_task(name=BUILD_REQUESTS_TASK)
def data_export_build_requests(envelopes: list[dict]) -> int:
    """The outbox's requests for data exports: build each (idempotent; each build confirms its request)."""
    return build_requests(envelopes=envelopes)


@shared_task(name=BUILD_TASK)
def data_export_build(export_id: str) -> bool:
    """Build one user's data export, as requests made before the outbox carried them are queued.

    A shim: it goes after 2027-03-01 (docs/operations.md, "Compatibility shims and when they go").
    """
    return build(export_id=export_id)


@shared_task(name=ATTACH_TASK)
def data_export_attach(export_id: str, part: str, sections: dict, request_id: str | None = None) -> bool:
    """A remote part's answer: attach it, and mail the link once the last is in (idempotent)."""
    return attach(export_id=export_id, part=part, sections=sections, request_id=request_id)
