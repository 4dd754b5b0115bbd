from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination, newest first, ``?page_size=`` up to 100."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
