"""Events the ratings app publishes. Payloads are plain JSON-ready data, never model instances.

Each signal is sent with ``event=<dict>`` inside the transaction that made the change, so a
receiver can write to the database atomically with it (the notifications outbox does).

``event`` keys: ``rating_id``, ``provider_id``, ``provider_user_id``, ``provider_name``,
``provider_email``, ``customer_id``, ``customer_user_id``, ``customer_name``, ``score``,
``comment_excerpt``, ``status``, ``verified``, ``occurred_at`` (ISO 8601); ``rating_updated``
adds ``previous_score``.
"""

from django.dispatch import Signal

rating_created = Signal()
rating_updated = Signal()
rating_deleted = Signal()
