"""Events the ratings app publishes. Payloads are plain JSON-ready data, never model instances.

Each signal is sent with ``event=<dict>`` inside the transaction that made the change, so a
receiver can write to the database atomically with it (the notifications outbox does).

Every ``event`` has: ``rating_id``, ``provider_id``, ``provider_user_id``, ``provider_name``,
``provider_email``, ``provider_user_active``, ``customer_id``, ``customer_user_id``, ``customer_name``,
``customer_email``, ``customer_user_active``, ``score``, ``comment_excerpt``, ``status``, ``verified``,
``occurred_at`` (ISO 8601). ``*_user_active`` is false once that account was deleted (erased):
tell it nothing any more. ``status`` is the
rating's status *after* the change: ``published``, ``pending_review`` or ``hidden``.

- ``rating_created``: every new rating. ``status`` is ``published`` (tell the provider about a
  new rating) or ``pending_review`` (held by an automatic rule: tell the provider one awaits
  review; the "new rating" notice follows from ``rating_moderated`` with ``first_publication``).
  Adds ``summary``: the provider's rating summary after the change, ``{"count", "sum"}`` (the
  average is sum / count), so a consumer can show how ratings moved it without asking.
- ``rating_updated``: score and/or comment edited by the author, or the rating verified with a
  partner invitation (``rating_verify``); adds ``previous_score`` and, for a verification,
  ``previous_verified``.
- ``rating_deleted``: deleted by the author.
- ``rating_moderated``: a status change (staff, or an automatic hold of an edited comment); adds
  ``previous_status``, ``reason`` (may be empty), ``moderator_id`` (the staff user's id, null
  for an automatic rule) and ``first_publication`` (true when the rating becomes public for the
  first time, e.g. released from automatic hold: send the normal "new rating" notice then), and
  ``summary`` (after the change, as for ``rating_created``).
- ``rating_replied``: the provider's reply is public, new or changed (tell the author); sent
  only while the reply is published. Adds ``reply_id``, ``reply_excerpt``, ``reply_status`` and
  ``reply_created`` (true the first time the reply becomes public, false for an edit).
- ``reply_moderated``: a reply's status changed (staff, or an automatic hold of its body, also
  of a new reply: then ``previous_reply_status`` is empty). Adds ``reply_id``,
  ``reply_excerpt``, ``reply_status`` (after), ``previous_reply_status``, ``reason``,
  ``moderator_id`` and ``first_publication``.

``rating_invited`` is about an invitation, not a rating, and carries its own keys: a partner
invited a customer to a verified rating (tell the customer). ``invitation_id``,
``provider_id``, ``provider_name``, ``provider_user_id``, ``customer_id``,
``customer_user_id``, ``customer_name``, ``customer_email``, ``expires_at`` (ISO 8601),
``url`` (the client's rating form, from ``RATING_INVITATION_URL``), ``occurred_at``.
"""

from django.dispatch import Signal

rating_created = Signal()
rating_updated = Signal()
rating_deleted = Signal()
rating_moderated = Signal()
rating_replied = Signal()
reply_moderated = Signal()
rating_invited = Signal()
