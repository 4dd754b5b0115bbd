import django_filters
from django import forms
from django.core.exceptions import ValidationError as FormValidationError
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from apps.providers.models import Provider


class PresentDecimalField(forms.DecimalField):
    """A decimal that, when the parameter is sent, must be one: ``?min_average=`` is a 400 like
    ``?min_average=x``, not a request without the filter."""

    def to_python(self, value):
        if value == "":
            raise FormValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "number", "minimum": 1, "maximum": 5})
class AverageFilter(django_filters.NumberFilter):
    """``min_average``, with its range in the document (django-filter's min/max do not reach it)."""

    field_class = PresentDecimalField


class ProviderFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=100, help_text="Matches name or description.")
    service = django_filters.CharFilter(field_name="services__slug", help_text="Service category slug.")
    min_average = AverageFilter(
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


class ProviderFilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the query names none of the filters.

    It builds and validates a form per request even when there is nothing to filter: on the
    unfiltered directory page that was a tenth of the request. With any filter parameter
    present, empty values included, the form runs and validates as before.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


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

    def get_ordering(self, request, queryset, view):
        # One documented term, or 400: DRF drops what it does not know (and an empty value) and
        # answers the default order, which a client cannot tell from the order it asked for.
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        term = raw.strip()
        field = self.public_to_field.get(term.removeprefix("-"))
        if field is None:
            raise ValidationError({self.ordering_param: [f'"{raw}" is not a valid choice.']}, code="invalid_choice")
        if term.startswith("-"):
            return [f"-{field}", "-id"]
        return [field, "id"]

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            param["schema"] = {
                "type": "string",
                "enum": [f"{sign}{p}" for p in self.public_to_field for sign in ("", "-")],
            }
        return params
