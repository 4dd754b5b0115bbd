"""The signals that carry the ratings app's published events to their receivers.

The event types, their versions and their payloads are declared in ``apps.ratings.events``
(one signal per type; ``events.publish`` sends ``event=<payload dict>`` and ``version=<int>``
inside the transaction that made the change, so a receiver can write to the database
atomically with it: the notifications outbox does). Payloads are plain JSON-ready data, never
model instances.
"""

from django.dispatch import Signal

rating_created = Signal()
rating_updated = Signal()
rating_deleted = Signal()
rating_moderated = Signal()
rating_replied = Signal()
reply_moderated = Signal()
rating_invited = Signal()
invitation_reminded = Signal()
