"""Where the notifications tables live."""

from django.db import DEFAULT_DB_ALIAS, router

from apps.notifications.models import Notification


def notifications_db() -> str:
    """The alias holding the notifications tables (its own database when configured)."""
    return router.db_for_write(Notification) or DEFAULT_DB_ALIAS
