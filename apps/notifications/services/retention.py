"""Retention of the notifications tables (run by ``apps.core.retention``).

What something still needs never matches:

- a delivery that is pending, sending or waiting to retry (the engine), or dead (it waits for a
  replay; ``RETENTION_DEAD_DELIVERIES_DAYS`` lets dead ones go);
- the log of such a delivery: only log lines of sent deliveries are purged;
- an inbox item with such a delivery: the engine renders the send from the item. An item goes
  only when all its deliveries were sent or cancelled, and those (with their log) go with it,
  as the model's ``on_delete=CASCADE`` says they belong to it.

Cancelled deliveries (their rating was deleted or hidden) are finished like sent ones and go
after ``RETENTION_DELIVERIES_DAYS`` counted from their cancellation; so do the kept
cancellations themselves (``DeliveryCancellation``), counted from their ingest.

- an open digest (its period has not been closed), nor a closed one younger than
  ``RETENTION_DIGESTS_DAYS``: while it exists, a rating that arrives late for its period goes to
  the open period instead of making that period's digest (and email) again.

The order below is the order of a run: log lines, then deliveries, then inbox items, then
closed digests (their email delivery holds its content: it goes with the deliveries).
"""

from apps.core.retention import Purge, days
from apps.notifications.db import notifications_db
from apps.notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryCancellation,
    DeliveryStatus,
    Digest,
    DigestItem,
    Notification,
)

_ATTEMPTS = DeliveryAttempt._meta.db_table
_DELIVERIES = Delivery._meta.db_table
_SENT = f"'{DeliveryStatus.SENT.value}'"
_DEAD = f"'{DeliveryStatus.DEAD.value}'"
_CANCELLED = f"'{DeliveryStatus.CANCELLED.value}'"
# The inbox items' rows that have to go first: their deliveries' log lines, then the deliveries.
_ITEM_DEPENDANTS = (
    f"DELETE FROM {_ATTEMPTS} WHERE delivery_id IN (SELECT id FROM {_DELIVERIES} WHERE notification_id IN ({{ids}}))",
    f"DELETE FROM {_DELIVERIES} WHERE notification_id IN ({{ids}})",
)
_ONLY_SENT_DELIVERIES = (
    f"NOT EXISTS (SELECT 1 FROM {_DELIVERIES} AS d WHERE d.notification_id = t.id"
    f" AND d.status NOT IN ({_SENT}, {_CANCELLED}))"
)

DELIVERY_ATTEMPTS_PURGE = Purge(
    name="delivery_attempts",
    app_label="notifications",
    model=DeliveryAttempt,
    order_column="created_at",
    condition=(
        f"t.created_at < %s"
        f" AND EXISTS (SELECT 1 FROM {_DELIVERIES} AS d WHERE d.id = t.delivery_id AND d.status = {_SENT})"
    ),
    retention=days("RETENTION_DELIVERY_ATTEMPTS_DAYS"),
    database=notifications_db,
)
SENT_DELIVERIES_PURGE = Purge(
    name="deliveries_sent",
    app_label="notifications",
    model=Delivery,
    order_column="last_attempt_at",
    condition=f"t.status = {_SENT} AND t.last_attempt_at < %s",
    retention=days("RETENTION_DELIVERIES_DAYS"),
    dependants=(f"DELETE FROM {_ATTEMPTS} WHERE delivery_id IN ({{ids}})",),
    database=notifications_db,
)
DEAD_DELIVERIES_PURGE = Purge(
    name="deliveries_dead",
    app_label="notifications",
    model=Delivery,
    order_column="last_attempt_at",
    condition=f"t.status = {_DEAD} AND t.last_attempt_at < %s",
    retention=days("RETENTION_DEAD_DELIVERIES_DAYS"),
    dependants=(f"DELETE FROM {_ATTEMPTS} WHERE delivery_id IN ({{ids}})",),
    database=notifications_db,
)
CANCELLED_DELIVERIES_PURGE = Purge(
    name="deliveries_cancelled",
    app_label="notifications",
    model=Delivery,
    order_column="cancelled_at",
    condition=f"t.status = {_CANCELLED} AND t.cancelled_at < %s",
    retention=days("RETENTION_DELIVERIES_DAYS"),
    dependants=(f"DELETE FROM {_ATTEMPTS} WHERE delivery_id IN ({{ids}})",),
    database=notifications_db,
)
CANCELLATIONS_PURGE = Purge(
    name="cancellations",
    app_label="notifications",
    model=DeliveryCancellation,
    order_column="created_at",
    condition="t.created_at < %s",
    retention=days("RETENTION_DELIVERIES_DAYS"),
    database=notifications_db,
)
READ_INBOX_PURGE = Purge(
    name="inbox_read",
    app_label="notifications",
    model=Notification,
    order_column="created_at",
    condition=f"t.read_at IS NOT NULL AND t.created_at < %s AND {_ONLY_SENT_DELIVERIES}",
    retention=days("RETENTION_INBOX_READ_DAYS"),
    dependants=_ITEM_DEPENDANTS,
    database=notifications_db,
)
INBOX_PURGE = Purge(
    name="inbox_all",
    app_label="notifications",
    model=Notification,
    order_column="created_at",
    condition=f"t.created_at < %s AND {_ONLY_SENT_DELIVERIES}",
    retention=days("RETENTION_INBOX_DAYS"),
    dependants=_ITEM_DEPENDANTS,
    database=notifications_db,
)

DIGESTS_PURGE = Purge(
    name="digests_closed",
    app_label="notifications",
    model=Digest,
    order_column="closed_at",
    condition="t.closed_at IS NOT NULL AND t.closed_at < %s",
    retention=days("RETENTION_DIGESTS_DAYS"),
    dependants=(f"DELETE FROM {DigestItem._meta.db_table} WHERE digest_id IN ({{ids}})",),
    database=notifications_db,
)

PURGES = (
    DELIVERY_ATTEMPTS_PURGE,
    SENT_DELIVERIES_PURGE,
    DEAD_DELIVERIES_PURGE,
    CANCELLED_DELIVERIES_PURGE,
    CANCELLATIONS_PURGE,
    READ_INBOX_PURGE,
    INBOX_PURGE,
    DIGESTS_PURGE,
)
