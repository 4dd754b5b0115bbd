import json
from functools import reduce

from django.db.models import Q
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.pagination import _reverse_ordering


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination, newest first, ``?page_size=`` up to 100.

    DRF's cursor holds only the first ordering field plus an offset, so with ties in that
    field (many providers share an average, a count or a name) its ``previous`` links skip or
    repeat items (encode/django-rest-framework#7709). Here the cursor holds the value of every
    ordering field and pages by a keyset comparison over all of them; the orderings used end in
    ``id``, so each position is unique and the offset is always 0. The ordering fields must
    not be NULL (the provider list coalesces its summary columns).
    """

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def _get_position_from_instance(self, instance, ordering):
        values = []
        for term in ordering:
            name = term.lstrip("-")
            values.append(str(instance[name] if isinstance(instance, dict) else getattr(instance, name)))
        return json.dumps(values)

    def _keyset_filter(self, position: str, reverse: bool) -> Q:
        try:
            values = json.loads(position)
        except ValueError as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        if not isinstance(values, list) or len(values) != len(self.ordering):
            raise NotFound(self.invalid_cursor_message)
        alternatives = []
        for i, term in enumerate(self.ordering):
            # (cursor reversed) XOR (field descending) → the page lies below the position.
            lookup = "lt" if reverse != term.startswith("-") else "gt"
            equal = {self.ordering[j].lstrip("-"): values[j] for j in range(i)}
            alternatives.append(Q(**equal, **{f"{term.lstrip('-')}__{lookup}": values[i]}))
        return reduce(lambda a, b: a | b, alternatives)

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

        if reverse:
            queryset = queryset.order_by(*_reverse_ordering(self.ordering))
        else:
            queryset = queryset.order_by(*self.ordering)

        if current_position is not None:
            queryset = queryset.filter(self._keyset_filter(current_position, self.cursor.reverse))

        results = list(queryset[offset : offset + self.page_size + 1])
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
