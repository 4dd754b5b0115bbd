import datetime
import decimal
import json
import math
from functools import reduce

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.core.validators import DecimalValidator
from django.db import connections, models
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError

from apps.core.db.page_queries import page_rows

PAGE_SIZE_PARAMETER = "page_size"


def _reversed(ordering: tuple[str, ...]) -> tuple[str, ...]:
    """The same terms, each the other way round (``-created_at`` ↔ ``created_at``)."""
    return tuple(term[1:] if term.startswith("-") else f"-{term}" for term in ordering)


PAGE_SIZE_ERROR_CODES = ("invalid", "min_value", "max_value")


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination, newest first, ``?page_size=`` up to 100.

    DRF's cursor holds only the first ordering field plus an offset, so with ties in that
    field (many providers share an average, a count or a name) its ``previous`` links skip or
    repeat items (encode/django-rest-framework#7709). Here the cursor holds the value of every
    ordering field and pages by a keyset comparison over all of them; the orderings used end in
    ``id``, so each position is unique and the offset is always 0. The ordering fields must
    not be NULL (the provider list coalesces its summary columns).

    A cursor is client input: every value of a position is parsed with its ordering field's
    type before it reaches a query, and anything a real cursor could not hold (wrong type or
    count, out of the column's range, NUL, a naive datetime) is the same 404 "Invalid cursor"
    DRF answers for a cursor it cannot decode, never a database error.
    """

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = PAGE_SIZE_PARAMETER
    max_page_size = 100

    def get_page_size(self, request):
        # DRF silently falls back to the default for a page_size it cannot use; the documented
        # contract (an integer from 1 to max_page_size) is enforced instead, as a 400.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit():
            raise self._page_size_error("A valid integer is required.", "invalid")
        value = int(raw)
        if value < 1:
            raise self._page_size_error("Ensure this value is greater than or equal to 1.", "min_value")
        if value > self.max_page_size:
            raise self._page_size_error(
                f"Ensure this value is less than or equal to {self.max_page_size}.", "max_value"
            )
        return value

    def _page_size_error(self, message: str, code: str) -> DRFValidationError:
        return DRFValidationError({self.page_size_query_param: [message]}, code=code)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = f"Items per page, 1 to {self.max_page_size} (default {self.page_size})."
        return parameters

    def _get_position_from_instance(self, instance, ordering):
        values = []
        for term in ordering:
            name = term.lstrip("-")
            values.append(str(instance[name] if isinstance(instance, dict) else getattr(instance, name)))
        return json.dumps(values)

    def _invalid(self) -> NotFound:
        return NotFound(self.invalid_cursor_message)

    @staticmethod
    def _ordering_field(queryset, name: str) -> models.Field:
        annotation = queryset.query.annotations.get(name)
        if annotation is not None:
            return annotation.output_field
        field = queryset.model._meta.get_field(name)
        # Ordering by a foreign key orders by the column it holds (the target's key).
        return field.target_field if field.is_relation else field

    def _parse_value(self, field: models.Field, raw, db: str):
        # Positions are written by ``_get_position_from_instance`` as strings only.
        if not isinstance(raw, str) or "\x00" in raw:
            raise self._invalid()
        try:
            if isinstance(field, models.DateTimeField):
                # The field's own to_python accepts a bare date (with a warning) and naive
                # values; a written position is always an aware datetime.
                value = parse_datetime(raw)
                if value is None or value.tzinfo is None:
                    raise self._invalid()
                # Out-of-range after conversion to UTC (year 1 with a positive offset).
                value.astimezone(datetime.UTC)
                return value
            value = field.to_python(raw)
            if isinstance(field, models.DecimalField):
                if not value.is_finite():
                    raise self._invalid()
                DecimalValidator(field.max_digits, field.decimal_places)(value)
            elif isinstance(field, models.FloatField):
                if not math.isfinite(value):
                    raise self._invalid()
            elif isinstance(field, models.IntegerField):
                low, high = connections[db].ops.integer_field_range(field.get_internal_type())
                if (low is not None and value < low) or (high is not None and value > high):
                    raise self._invalid()
        except (ValidationError, ValueError, TypeError, OverflowError, decimal.InvalidOperation) as exc:
            raise self._invalid() from exc
        if value is None:
            raise self._invalid()
        return value

    def _keyset_filter(self, position: str, reverse: bool, queryset) -> Q:
        try:
            raw_values = json.loads(position)
        except ValueError as exc:
            raise self._invalid() from exc
        if not isinstance(raw_values, list) or len(raw_values) != len(self.ordering):
            raise self._invalid()
        try:
            fields = [self._ordering_field(queryset, term.lstrip("-")) for term in self.ordering]
        except FieldDoesNotExist as exc:  # a programming error in the view, not a bad cursor
            raise ImproperlyConfigured(f"Cursor ordering {self.ordering!r} names no field") from exc
        values = [self._parse_value(f, raw, queryset.db) for f, raw in zip(fields, raw_values, strict=True)]
        alternatives = []
        for i, term in enumerate(self.ordering):
            # (cursor reversed) XOR (field descending) → the page lies below the position.
            lookup = "lt" if reverse != term.startswith("-") else "gt"
            equal = {self.ordering[j].lstrip("-"): values[j] for j in range(i)}
            alternatives.append(Q(**equal, **{f"{term.lstrip('-')}__{lookup}": values[i]}))
        # The same condition, plus the bound it implies on the first field: PostgreSQL does not
        # turn the OR into an index range, the bound lets an index on the ordering start the
        # scan at the cursor instead of at the top of the list.
        first = self.ordering[0]
        bound = "lte" if reverse != first.startswith("-") else "gte"
        return Q(**{f"{first.lstrip('-')}__{bound}": values[0]}) & reduce(lambda a, b: a | b, alternatives)

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's method with the single-field position filter replaced by the keyset filter.
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None

        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)

        self.cursor = self.decode_cursor(request)
        if self.cursor is None:
            (offset, reverse, current_position) = (0, False, None)
        else:
            (offset, reverse, current_position) = self.cursor

        queryset = queryset.order_by(*(_reversed(self.ordering) if reverse else self.ordering))

        if current_position is not None:
            queryset = queryset.filter(self._keyset_filter(current_position, self.cursor.reverse, queryset))

        results = page_rows(queryset[offset : offset + self.page_size + 1])
        self.page = list(results[: self.page_size])

        if len(results) > len(self.page):
            has_following_position = True
            following_position = self._get_position_from_instance(results[-1], self.ordering)
        else:
            has_following_position = False
            following_position = None

        if reverse:
            self.page = list(reversed(self.page))
            self.has_next = (current_position is not None) or (offset > 0)
            self.has_previous = has_following_position
            if self.has_next:
                self.next_position = current_position
            if self.has_previous:
                self.previous_position = following_position
        else:
            self.has_next = has_following_position
            self.has_previous = (current_position is not None) or (offset > 0)
            if self.has_next:
                self.next_position = following_position
            if self.has_previous:
                self.previous_position = current_position

        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True

        return self.page
