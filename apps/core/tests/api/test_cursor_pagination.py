"""A cursor is client input: a forged one is the same 404 as an undecodable one, never a 5xx."""

import base64
import json
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from conftest import auth_client
from tests.errors import assert_error
from tests.factories import NotificationFactory, ProviderFactory, UserFactory, rating_make

pytestmark = pytest.mark.django_db

# base64 of ``o=0&r=0&p=["x","y"]``: the reported cursor that reached the ORM unchecked.
REPORTED = "bz0wJnI9MCZwPSU1QiUyMnglMjIlMkMlMjJ5JTIyJTVE"
PROVIDER_ORDERINGS = ["average", "-average", "count", "-count", "name", "-name", "created_at", "-created_at"]

# Values no written position holds in any slot: not a string, a NUL, or nothing a field parses.
NEVER_VALID = [
    None,
    1,
    1.5,
    True,
    ["x"],
    {"a": 1},
    "\x00",
    "x\x00y",
]
# Values a string slot (``name``) accepts but every typed slot (UUID, datetime, number) refuses.
UNTYPED = [
    "",
    "x",
    "x" * 20000,
    "9" * 5000,
    "99999999999999999999999",
    "-99999999999999999999999",
    "1e999",
    "nan",
    "inf",
    "-inf",
    "2024-01-01",  # a date, not a datetime
    "2024-01-01 00:00:00",  # naive
    "2024-13-45 25:61:00+00:00",
    "0001-01-01 00:00:00+05:00",  # before year 1 in UTC
    "9999-12-31 23:59:59-05:00",  # after year 9999 in UTC
    "not-a-uuid",
]
# Finite numbers: a place in an average ordering (a float), out of range for a count (an int).
FINITE_FLOATS = ["99999999999999999999999", "-99999999999999999999999"]
NOT_A_POSITION = ["not json", "null", "{}", '"string"', "1", "[", "[]", "[[]]", "x" * 20000]


def _cursor(position: str, reverse: bool = False) -> str:
    tokens = {"p": position}
    if reverse:
        tokens["r"] = "1"
    return base64.b64encode(urlencode(tokens).encode("ascii")).decode("ascii")


def _real_position(client, url: str, params: dict) -> list[str]:
    next_url = client.get(url, {**params, "page_size": 1}).json()["next"]
    assert next_url
    cursor = parse_qs(urlparse(next_url).query)["cursor"][0]
    return json.loads(parse_qs(base64.b64decode(cursor).decode("ascii"))["p"][0])


def _assert_invalid_cursor(response):
    assert assert_error(response, 404, "not_found", attr=None, type_="client_error")["detail"] == "Invalid cursor"


def _fuzz(client, url: str, params: dict, string_slots: set[int] = frozenset(), float_slots: set[int] = frozenset()):
    position = _real_position(client, url, params)
    for reverse in (False, True):
        genuine = client.get(url, {**params, "cursor": _cursor(json.dumps(position), reverse)})
        assert genuine.status_code == 200, genuine.content

        for text in NOT_A_POSITION:
            _assert_invalid_cursor(client.get(url, {**params, "cursor": _cursor(text, reverse)}))
        for forged in (position[:-1], [*position, position[-1]], ["x"] * len(position)):
            if forged == ["x"] * len(position) and string_slots == set(range(len(position))):
                continue
            _assert_invalid_cursor(client.get(url, {**params, "cursor": _cursor(json.dumps(forged), reverse)}))

        for slot in range(len(position)):
            for value in NEVER_VALID + UNTYPED:
                forged = [*position[:slot], value, *position[slot + 1 :]]
                response = client.get(url, {**params, "cursor": _cursor(json.dumps(forged), reverse)})
                string_ok = slot in string_slots and isinstance(value, str) and "\x00" not in value
                if string_ok or (slot in float_slots and value in FINITE_FLOATS):
                    # Any string is a place in a name ordering, any finite number one in an
                    # average ordering: a page (maybe empty), not an error.
                    assert response.status_code == 200, (slot, value[:40], response.content[:300])
                else:
                    _assert_invalid_cursor(response)


def test_the_reported_cursor_is_404_on_every_list(provider, customer):
    rating_make(customer=customer, provider=provider)
    NotificationFactory(recipient_id=customer.user.pk)
    client = auth_client(customer.user)
    for url in ("/api/v1/ratings/", "/api/v1/providers/", "/api/v1/notifications/"):
        _assert_invalid_cursor(client.get(url, {"cursor": REPORTED}))
    for ordering in PROVIDER_ORDERINGS:
        _assert_invalid_cursor(client.get("/api/v1/providers/", {"cursor": REPORTED, "ordering": ordering}))


def test_forged_rating_cursors_are_404(api_client):
    provider = ProviderFactory()
    for _ in range(3):
        rating_make(provider=provider)
    _fuzz(api_client, "/api/v1/ratings/", {})


@pytest.mark.parametrize("ordering", PROVIDER_ORDERINGS)
def test_forged_provider_cursors_are_404_for_every_ordering(api_client, ordering):
    for i in range(3):
        provider = ProviderFactory(name=f"Provider {i}")
        for _ in range(i):
            rating_make(provider=provider, score=3 + i)
    field = ordering.lstrip("-")
    _fuzz(
        api_client,
        "/api/v1/providers/",
        {"ordering": ordering},
        string_slots={0} if field == "name" else set(),
        float_slots={0} if field == "average" else set(),
    )


def test_forged_notification_cursors_are_404():
    user = UserFactory()
    NotificationFactory.create_batch(3, recipient_id=user.pk)
    _fuzz(auth_client(user), "/api/v1/notifications/", {})
