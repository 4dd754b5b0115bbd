"""What the accounts app announces to the apps above it (they import it; it imports none of them).

``user_erasing(sender=User, user=...)``: sent by ``user_erase`` inside its transaction, after the
user row itself is erased. Each receiver erases the personal data its own app copied (free text
the person wrote, names it stored) and returns a dict of the ids the notifications app needs to
find the copies it made (``rating_ids``: the person's ratings as their author; ``provider_id``:
their provider profile), or ``None``. The dicts are merged into the ``account.deleted`` event.

``user_deactivated(sender=User, user=...)``: sent by ``user_deactivate`` (staff switched the
account off, a ban) inside its transaction; receivers undo what the account's activity counts
for elsewhere (its helpful votes).
"""

from django.dispatch import Signal

user_erasing = Signal()
user_deactivated = Signal()
