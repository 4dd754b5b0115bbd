from celery import shared_task

from apps.accounts.exports import BUILD_TASK
from apps.accounts.exports import data_export_build as build


@shared_task(name=BUILD_TASK)
def data_export_build(export_id: str) -> bool:
    """Build one user's data export and mail its link (idempotent: a ready export is left alone)."""
    return build(export_id=export_id)
