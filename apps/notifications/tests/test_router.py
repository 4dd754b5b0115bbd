from apps.core.models import OutboxEvent
from apps.notifications.models import Notification
from config.routers import NotificationsRouter


def test_notifications_tables_go_to_their_own_database_and_the_outbox_stays_with_the_publisher():
    router = NotificationsRouter()
    assert router.db_for_read(Notification) == "notifications"
    assert router.db_for_write(Notification) == "notifications"
    assert router.db_for_write(OutboxEvent) is None
    assert router.allow_migrate("notifications", "notifications") is True
    assert router.allow_migrate("default", "notifications") is False
    assert router.allow_migrate("default", "core") is True
    assert router.allow_migrate("notifications", "core") is False
    assert router.allow_relation(Notification(), OutboxEvent()) is False
