from celery import shared_task

from apps.ratings.services import invitation_reminders_send


@shared_task(name="ratings.invitation_reminders_send", soft_time_limit=120, time_limit=180)
def invitation_reminders_send_task() -> int:
    # Beat's sweep; safe to run twice at once (each reminder goes once, see the service).
    return invitation_reminders_send()
