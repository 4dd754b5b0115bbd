"""Reads of provider profiles.

The rating columns come from the ratings app's per-provider summary row, joined through the
``rating_summary`` reverse relation (one LEFT JOIN, never an aggregate over ratings), so a
page of providers costs the same whatever the number of ratings.
"""

from django.db.models import F, FloatField, IntegerField, QuerySet, Value
from django.db.models.functions import Coalesce

from apps.accounts.models import User
from apps.core.exceptions import NotFound, PermissionDenied
from apps.providers.models import Provider, ServiceCategory

STAR_FIELDS = tuple(f"stars_{n}" for n in range(1, 6))


def _with_rating(queryset: QuerySet[Provider]) -> QuerySet[Provider]:
    zero = Value(0, output_field=IntegerField())
    return queryset.annotate(
        rating_count=Coalesce(F("rating_summary__count"), zero),
        rating_sum=Coalesce(F("rating_summary__sum"), zero),
        rating_verified_count=Coalesce(F("rating_summary__verified_count"), zero),
        # Providers without ratings sort below every rated one.
        rating_sort_average=Coalesce(F("rating_summary__average"), Value(-1.0, output_field=FloatField())),
        **{f"rating_{f}": Coalesce(F(f"rating_summary__{f}"), zero) for f in STAR_FIELDS},
    )


def providers_active() -> QuerySet[Provider]:
    """Providers that still exist for the public and can be rated: not deleted (``provider_delete``)."""
    return Provider.objects.filter(deleted_at__isnull=True)


def provider_list() -> QuerySet[Provider]:
    # No user join: the public listing shows nothing of the user (its email is for ``me``).
    return _with_rating(providers_active().prefetch_related("services"))


def provider_get(*, provider_id) -> Provider:
    provider = provider_list().select_related("user").filter(pk=provider_id).first()
    if provider is None:
        raise NotFound("Provider not found.")
    return provider


def provider_get_for_edit(*, provider_id, user: User) -> Provider:
    """The provider ``user`` may edit: their own, or any for staff. 404 if it does not exist."""
    provider = provider_get(provider_id=provider_id)
    if not (user.is_staff or provider.user_id == user.pk):
        raise PermissionDenied("Only the provider itself or staff can change this profile.")
    return provider


def service_category_list() -> QuerySet[ServiceCategory]:
    """The service category catalog (managed by staff in the admin), by name."""
    return ServiceCategory.objects.order_by("name", "id")
