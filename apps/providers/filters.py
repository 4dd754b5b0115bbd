import django_filters
from django.db.models import Q
from rest_framework.filters import OrderingFilter

from apps.providers.models import Provider


class ProviderFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=100, help_text="Matches name or description.")
    service = django_filters.CharFilter(field_name="services__slug", help_text="Service category slug.")
    min_average = django_filters.NumberFilter(
        field_name="rating_summary__average",
        lookup_expr="gte",
        min_value=1,
        max_value=5,
        help_text="Only providers whose exact average is at least this (1 to 5).",
    )

    class Meta:
        model = Provider
        fields = ["search", "service", "min_average"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class ProviderOrdering(OrderingFilter):
    """``?ordering=`` with public names mapped onto the annotated summary columns.

    The cursor paginator reads the ordering from this filter, so every ordering stays
    cursor-paginated; ``id`` is appended as the tie-breaker that makes the order total.
    """

    public_to_field = {
        "average": "rating_sort_average",
        "count": "rating_count",
        "name": "name",
        "created_at": "created_at",
    }
    ordering_fields = list(public_to_field)
    ordering_description = (
        "One of: "
        + ", ".join(f"{p}, -{p}" for p in ("average", "count", "name", "created_at"))
        + ". Default -created_at."
    )

    def get_default_ordering(self, view):
        return ["-created_at", "-id"]

    def remove_invalid_fields(self, queryset, fields, view, request):
        ordering = []
        for term in fields:
            descending = term.startswith("-")
            field = self.public_to_field.get(term.lstrip("-"))
            if field:
                ordering.append(f"-{field}" if descending else field)
        if ordering:
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            param["schema"] = {
                "type": "string",
                "enum": [f"{sign}{p}" for p in self.public_to_field for sign in ("", "-")],
            }
        return params
