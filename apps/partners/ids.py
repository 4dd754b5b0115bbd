import uuid


def parse_id(value: str) -> uuid.UUID | None:
    """The UUID a path segment spells, or None: an id that is no UUID names nothing (a 404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
