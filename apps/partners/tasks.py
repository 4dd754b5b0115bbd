from celery import shared_task

from apps.partners.keys import partner_key_usage_flush


@shared_task(name="partners.key_usage_flush", soft_time_limit=60, time_limit=90)
def key_usage_flush_task() -> int:
    return partner_key_usage_flush()
