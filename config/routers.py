"""Keeps the notifications app's tables in the ``notifications`` database when one is configured.

Active only when ``NOTIFICATIONS_DATABASE_URL`` is set (see settings). The outbox stays with
the publisher in ``default``: it must commit atomically with the rating.
"""

NOTIFICATIONS_DB = "notifications"
ROUTED_APP_LABELS = frozenset({"notifications"})


class NotificationsRouter:
    def _db_for(self, model) -> str | None:
        return NOTIFICATIONS_DB if model._meta.app_label in ROUTED_APP_LABELS else None

    def db_for_read(self, model, **hints):
        return self._db_for(model)

    def db_for_write(self, model, **hints):
        return self._db_for(model)

    def allow_relation(self, obj1, obj2, **hints):
        # No relation may cross the two databases; inside one, defer to Django.
        routed = {obj._meta.app_label in ROUTED_APP_LABELS for obj in (obj1, obj2)}
        return None if len(routed) == 1 else False

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in ROUTED_APP_LABELS:
            return db == NOTIFICATIONS_DB
        return db != NOTIFICATIONS_DB
