from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import DEFAULT_LOCALE
from apps.accounts.services import ERASED_PROVIDER_NAME, account_claim_request, user_create, user_erase, user_update
from apps.providers import events
from apps.providers.models import Provider, ServiceCategory


def _categories_from_slugs(slugs: Sequence[str]) -> list[ServiceCategory]:
    wanted = set(slugs)
    found = list(ServiceCategory.objects.filter(slug__in=wanted))
    missing = sorted(wanted - {c.slug for c in found})
    if missing:
        raise ValidationError({"services": [f"Unknown service category: {', '.join(missing)}."]})
    return found


@transaction.atomic
def provider_register(
    *,
    email: str,
    password: str | None,
    name: str,
    description: str = "",
    services: Sequence[str] = (),
    locale: str = DEFAULT_LOCALE,
) -> Provider:
    """Create a user and its provider profile in one transaction (``password=None``: no sign-in).

    Publishes ``provider.registered`` in it (the ratings app makes the provider's summary row).
    """
    categories = _categories_from_slugs(services)
    user = user_create(email=email, password=password, name=name, locale=locale)
    provider = Provider.objects.create(user=user, name=name, description=description)
    provider.services.set(categories)
    events.publish(events.ProviderRegistered(provider_id=str(provider.pk)))
    return provider


def provider_sign_up(
    *,
    email: str,
    password: str,
    name: str,
    description: str = "",
    services: Sequence[str] = (),
    locale: str = DEFAULT_LOCALE,
) -> Provider | None:
    """Self-service sign-up: the new provider, or ``None`` when the address belongs to an
    account a partner made (no password yet): its owner was emailed a link to claim that one."""
    _categories_from_slugs(services)  # a bad slug is a 400 whichever way it goes
    if account_claim_request(email=email):
        return None
    return provider_register(
        email=email, password=password, name=name, description=description, services=services, locale=locale
    )


_UNSET = object()


@transaction.atomic
def provider_update(*, provider: Provider, name=_UNSET, description=_UNSET, services=_UNSET, locale=_UNSET) -> Provider:
    """Change the given fields of a provider profile; untouched fields stay as they are.

    ``locale`` is its account's (``user_update``), changed in the same transaction."""
    if locale is not _UNSET:
        user_update(user=provider.user, locale=locale)
    provider = Provider.objects.select_for_update().get(pk=provider.pk)
    fields = []
    if name is not _UNSET:
        provider.name = name
        fields.append("name")
    if description is not _UNSET:
        provider.description = description
        fields.append("description")
    if fields:
        provider.full_clean(exclude=["user", "services"])
        provider.save(update_fields=[*fields, "updated_at"])
    if services is not _UNSET:
        provider.services.set(_categories_from_slugs(services))
    return provider


@transaction.atomic
def provider_delete(*, provider: Provider, password: str) -> None:
    """Erase the provider's account (see ``user_erase``: 400 ``wrong_password`` changes nothing)
    and its public profile.

    The provider row stays, because ratings point at it: they, their replies and the rating
    summary are kept as they are (the summary stays exact and public). The profile is erased
    (name ``ERASED_PROVIDER_NAME``, no description, no services) and marked deleted, so it is no
    longer listed, shown or rated, and its open invitations cannot be used.
    """
    user_erase(user=provider.user, password=password)
    locked = Provider.objects.select_for_update().get(pk=provider.pk)
    locked.name, locked.description, locked.deleted_at = ERASED_PROVIDER_NAME, "", timezone.now()
    locked.save(update_fields=["name", "description", "deleted_at", "updated_at"])
    locked.services.clear()
