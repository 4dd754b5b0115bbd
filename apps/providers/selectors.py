"""Reads of provider profiles.

The rating columns come from the ratings app's per-provider summary row, joined through the
``rating_summary`` reverse relation (one join, never an aggregate over ratings), so a page of
providers costs the same whatever the number of ratings.
"""

from functools import cache

from django.db.models import Expression, F, JSONField, QuerySet

from apps.accounts.models import User
from apps.core.exceptions import NotFound, PermissionDenied
from apps.providers.models import Provider, ServiceCategory

STAR_FIELDS = tuple(f"stars_{n}" for n in range(1, 6))


def _with_rating(queryset: QuerySet[Provider]) -> QuerySet[Provider]:
    # Every provider has a summary row (made with the provider, in the ratings app), so the join
    # is an inner one: the summary's indexes then serve the orderings by average and count.
    return queryset.filter(rating_summary__isnull=False).annotate(
        rating_count=F("rating_summary__count"),
        rating_sum=F("rating_summary__sum"),
        rating_verified_count=F("rating_summary__verified_count"),
        # Unrated providers (-1) sort below every rated one.
        rating_sort_average=F("rating_summary__rank_average"),
        **{f"rating_{f}": F(f"rating_summary__{f}") for f in STAR_FIELDS},
    )


class ServiceCategoriesJSON(Expression):
    """A provider's service categories as a JSON array of ``{"slug", "name"}`` by name, in the row.

    A correlated subquery in the page's own query: a page of providers is one query, where a
    ``prefetch_related`` was a second one plus a model instance per category.
    """

    output_field = JSONField()

    def as_sql(self, compiler, connection):
        provider = f"{compiler.quote_name_unless_alias(Provider._meta.db_table)}.{connection.ops.quote_name('id')}"
        category = connection.ops.quote_name(ServiceCategory._meta.db_table)
        through = connection.ops.quote_name(Provider.services.through._meta.db_table)
        rows = (
            f"FROM {category} c INNER JOIN {through} ps ON ps.servicecategory_id = c.id "
            f"WHERE ps.provider_id = {provider}"
        )
        if connection.vendor == "postgresql":
            return (
                "COALESCE((SELECT json_agg(json_build_object('slug', c.slug, 'name', c.name) "
                f"ORDER BY c.name, c.id) {rows}), '[]')::text"
            ), []
        # SQLite (the embedded default): json_group_array keeps its input's order.
        return (
            "(SELECT json_group_array(json_object('slug', s.slug, 'name', s.name)) "
            f"FROM (SELECT c.slug, c.name {rows} ORDER BY c.name, c.id) s)"
        ), []


def providers_active() -> QuerySet[Provider]:
    """Providers that still exist for the public and can be rated: not deleted (``provider_delete``)."""
    return Provider.objects.filter(deleted_at__isnull=True)


@cache
def _provider_list_template() -> QuerySet[Provider]:
    # No user join: the public listing shows nothing of the user (its email is for ``me``).
    return _with_rating(providers_active().annotate(services_data=ServiceCategoriesJSON()))


def provider_list() -> QuerySet[Provider]:
    # Resolving the nine summary annotations and the services expression against the model was
    # about a fifth of a directory page's CPU, the same work on every request: it is done once
    # per process and each call gets a clone (the way DRF reuses a view's ``queryset``). The
    # template is never evaluated, so it holds no rows.
    return _provider_list_template().all()


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
