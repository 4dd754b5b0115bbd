from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from apps.ratings.selectors import SEARCH_RANK

# A searched list (``?q=`` on PostgreSQL) without an explicit ordering: most relevant first,
# ties newest first. The rank is a column of the query, so the cursor keeps it like any field.
RELEVANCE_ORDERING = [f"-{SEARCH_RANK}", "-created_at", "-id"]

ORDERINGS = {
    "-created_at": ["-created_at", "-id"],
    # Ties (many ratings share a count) newest first; id makes the order total for the cursor.
    "-helpful_count": ["-helpful_count", "-created_at", "-id"],
}


class RatingOrdering(OrderingFilter):
    """``?ordering=`` of the rating list: newest first (default) or most helpful first.

    The cursor paginator reads the ordering from here and keeps every field of it in the
    cursor, so a page boundary inside a run of equal counts neither skips nor repeats ratings.
    A count that changes between two page requests moves its rating, as in any keyset list.
    """

    ordering_description = (
        "One of: " + ", ".join(ORDERINGS) + ". Default -created_at; with `q`, most relevant first (ties newest first)."
    )

    def get_default_ordering(self, view):
        return ORDERINGS["-created_at"]

    def get_ordering(self, request, queryset, view):
        # One documented value, or 400: DRF would drop an unknown one and answer the default order.
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            if SEARCH_RANK in queryset.query.annotations:
                return RELEVANCE_ORDERING
            return self.get_default_ordering(view)
        ordering = ORDERINGS.get(raw.strip())
        if ordering is None:
            raise ValidationError({self.ordering_param: [f'"{raw}" is not a valid choice.']}, code="invalid_choice")
        return ordering

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            param["schema"] = {"type": "string", "enum": list(ORDERINGS), "default": "-created_at"}
        return params
