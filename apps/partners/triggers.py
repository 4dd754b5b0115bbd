"""The trigger API's service: staff or a partner sends a notice of a declared custom type.

It lives in the partners app, the top layer, because it must resolve a provider by id and know
which users a partner may reach (its own customers and its own or granted providers); the
notifications app learns of it only through the ``notification.triggered`` event in the outbox,
and its intake decides the channels, as for any other event.
"""

import hashlib
import json
from uuid import UUID

from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.core.exceptions import NotFound
from apps.core.idempotency import IdempotencyKeyReused
from apps.partners import events
from apps.partners.models import NotificationTrigger, Partner
from apps.providers.models import Provider
from apps.providers.selectors import providers_active

USER_NOT_FOUND = "User not found."
PROVIDER_NOT_FOUND = "Provider not found."


def _fingerprint(*, type: str, user_id, provider_id, title: str, body: str, data: dict) -> str:
    request = {
        "type": type,
        "user_id": str(user_id) if user_id else None,
        "provider_id": str(provider_id) if provider_id else None,
        "title": title,
        "body": body,
        "data": data,
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _recipient(*, partner: Partner | None, user_id: UUID | None, provider_id: UUID | None):
    """``(user, provider)``; a recipient the caller may not reach is the same 404 as one that does not exist."""
    if provider_id is not None:
        providers = providers_active().select_related("user").filter(user__is_active=True)
        if partner is not None:
            providers = providers.filter(partner_links__partner=partner)
        provider = providers.filter(pk=provider_id).first()
        if provider is None:
            raise NotFound(PROVIDER_NOT_FOUND)
        return provider.user, provider
    users = User.objects.filter(pk=user_id, is_active=True)
    if partner is not None:
        # A partner reaches the users it knows: its customers and its providers' accounts.
        own_provider = Provider.objects.filter(
            user=user_id, deleted_at__isnull=True, partner_links__partner=partner
        ).exists()
        if not own_provider:
            users = users.filter(customer__partner_links__partner=partner)
    user = users.first()
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user, None


def _replayed(trigger: NotificationTrigger, fingerprint: str) -> NotificationTrigger:
    if trigger.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This idempotency_key was already used with a different request.")
    return trigger


def notification_trigger(
    *,
    partner: Partner | None,
    staff_user: User | None,
    type: str,
    user_id: UUID | None,
    provider_id: UUID | None,
    title: str,
    body: str,
    data: dict,
    idempotency_key: str,
) -> tuple[NotificationTrigger, bool]:
    """Record the trigger and publish its event in one transaction; ``(trigger, created)``.

    The same key from the same caller with the same request returns the first trigger
    (``created`` False) and tells nobody again; with another request it is 422
    ``idempotency_key_reused``. The key is kept for good (it is the trigger's identity), not 24
    hours as a header key: a marketplace's retry days later must not notify twice.
    """
    caller = f"partner:{partner.pk}" if partner is not None else f"staff:{staff_user.pk}"
    fingerprint = _fingerprint(type=type, user_id=user_id, provider_id=provider_id, title=title, body=body, data=data)
    existing = NotificationTrigger.objects.filter(caller=caller, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, fingerprint), False
    user, provider = _recipient(partner=partner, user_id=user_id, provider_id=provider_id)
    try:
        with transaction.atomic():
            trigger = NotificationTrigger.objects.create(
                caller=caller,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                partner=partner,
                type=type,
                recipient_user=user,
                provider=provider,
                title=title,
                body=body,
                data=data,
            )
            events.publish(events.NotificationTriggered.of(trigger))
    except IntegrityError:
        # The same key sent concurrently: the other request's trigger is the one.
        existing = NotificationTrigger.objects.filter(caller=caller, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, fingerprint), False
    return trigger, True
