import pytest

from apps.accounts.models import User
from apps.providers.models import Provider
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import (
    CustomerFactory,
    ProviderFactory,
    ServiceCategoryFactory,
    UserFactory,
    rating_make,
)

URL = "/api/v1/providers/"
STRONG = "a-long-enough-secret"
EMPTY_RATING = {"count": 0, "average": None, "bayesian_average": 3.5, "verified_count": 0}


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _rate(provider, *scores):
    for score in scores:
        rating_make(provider=provider, score=score)


# --- registration ------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_creates_a_provider_with_services(api_client):
    ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    ServiceCategoryFactory(slug="tiling", name="Tiling")
    response = api_client.post(
        URL,
        {
            "email": "Pro@Example.com",
            "password": STRONG,
            "name": "Pipes Ltd",
            "description": "Fixes pipes.",
            "services": ["tiling", "plumbing"],
        },
        format="json",
    )
    assert response.status_code == 201
    provider = Provider.objects.get()
    assert response.json() == {
        "id": str(provider.pk),
        "name": "Pipes Ltd",
        "description": "Fixes pipes.",
        "email": "pro@example.com",
        "email_verified": False,
        "email_verified_at": None,
        "locale": "en",
        "services": [{"slug": "plumbing", "name": "Plumbing"}, {"slug": "tiling", "name": "Tiling"}],
        "rating": {
            "provider_id": str(provider.pk),
            **EMPTY_RATING,
            "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        },
        "created_at": _z(provider.created_at),
        "updated_at": _z(provider.updated_at),
    }
    assert provider.user.roles == ["provider"]


@pytest.mark.django_db
def test_register_with_a_taken_email_is_409_and_writes_nothing(api_client):
    UserFactory(email="pro@example.com")
    response = api_client.post(URL, {"email": "PRO@example.com", "password": STRONG, "name": "P"}, format="json")
    assert_error(response, 409, "already_exists", attr=None)
    assert User.objects.count() == 1
    assert Provider.objects.count() == 0


@pytest.mark.django_db
def test_register_with_a_weak_password_is_400_and_writes_nothing(api_client):
    response = api_client.post(URL, {"email": "pro@example.com", "password": "password", "name": "P"}, format="json")
    assert_error(response, 400, attr="password", type_="validation_error")
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_with_an_unknown_service_is_400_and_writes_nothing(api_client):
    ServiceCategoryFactory(slug="plumbing")
    response = api_client.post(
        URL,
        {"email": "pro@example.com", "password": STRONG, "name": "P", "services": ["plumbing", "nope"]},
        format="json",
    )
    first = assert_error(response, 400, attr="services", type_="validation_error")
    assert "nope" in first["detail"]
    assert User.objects.count() == 0
    assert Provider.objects.count() == 0


# --- me and detail -----------------------------------------------------------------------


@pytest.mark.django_db
def test_me_returns_the_own_profile_with_email(provider, provider_client):
    response = provider_client.get(URL + "me/")
    assert response.status_code == 200
    assert response.json()["id"] == str(provider.pk)
    assert response.json()["email"] == provider.user.email


@pytest.mark.django_db
def test_me_is_403_for_a_customer(customer_client):
    assert_error(customer_client.get(URL + "me/"), 403, "permission_denied")


@pytest.mark.django_db
def test_detail_includes_the_rating_summary(api_client, provider):
    _rate(provider, 5, 4, 4)
    response = api_client.get(f"{URL}{provider.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert "email" not in body
    assert body["rating"] == {
        "provider_id": str(provider.pk),
        "count": 3,
        "average": 4.33,
        # (5 * 3.5 + 13) / (5 + 3) = 3.8125
        "bayesian_average": 3.81,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1},
        "verified_count": 0,
    }


@pytest.mark.django_db
def test_detail_of_an_unknown_provider_is_404(api_client):
    assert_error(api_client.get(f"{URL}00000000-0000-0000-0000-000000000000/"), 404, "not_found")


# --- PATCH -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_can_patch_name_description_and_services(provider, provider_client):
    ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    response = provider_client.patch(
        f"{URL}{provider.pk}/", {"name": "New name", "description": "", "services": ["plumbing"]}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["services"]) == (
        "New name",
        "",
        [{"slug": "plumbing", "name": "Plumbing"}],
    )
    provider.refresh_from_db()
    assert (provider.name, provider.description) == ("New name", "")
    assert list(provider.services.values_list("slug", flat=True)) == ["plumbing"]


@pytest.mark.django_db
def test_patch_leaves_untouched_fields_alone(provider, provider_client):
    before = provider.description
    response = provider_client.patch(f"{URL}{provider.pk}/", {"name": "Only name"}, format="json")
    assert response.status_code == 200
    provider.refresh_from_db()
    assert (provider.name, provider.description) == ("Only name", before)


@pytest.mark.django_db
def test_staff_can_patch_any_provider(provider, staff_client):
    response = staff_client.patch(f"{URL}{provider.pk}/", {"name": "By staff"}, format="json")
    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.name == "By staff"


@pytest.mark.django_db
def test_another_provider_cannot_patch(provider, customer_client):
    other = ProviderFactory()
    name = provider.name
    assert_error(auth_client(other.user).patch(f"{URL}{provider.pk}/", {"name": "x"}, format="json"), 403)
    assert_error(customer_client.patch(f"{URL}{provider.pk}/", {"name": "x"}, format="json"), 403)
    provider.refresh_from_db()
    assert provider.name == name


@pytest.mark.django_db
def test_anonymous_cannot_patch(provider, api_client):
    assert_error(api_client.patch(f"{URL}{provider.pk}/", {"name": "x"}, format="json"), 401, "not_authenticated")


@pytest.mark.django_db
def test_patch_with_an_unknown_service_is_400_and_changes_nothing(provider, provider_client):
    ServiceCategoryFactory(slug="plumbing")
    provider.services.set([])
    response = provider_client.patch(
        f"{URL}{provider.pk}/", {"name": "Changed", "services": ["plumbing", "nope"]}, format="json"
    )
    assert_error(response, 400, attr="services")
    provider.refresh_from_db()
    assert provider.name != "Changed"
    assert provider.services.count() == 0


# --- list --------------------------------------------------------------------------------


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["results"]]


@pytest.fixture
def directory(db):
    plumbing = ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    tutoring = ServiceCategoryFactory(slug="tutoring", name="Tutoring")
    alpha = ProviderFactory(name="Alpha Pipes", description="Leaks fixed")
    bravo = ProviderFactory(name="Bravo Tutors", description="Maths and physics")
    charlie = ProviderFactory(name="Charlie Cleaners", description="Spotless homes")
    delta = ProviderFactory(name="Delta Drains", description="Blocked pipes")
    alpha.services.set([plumbing])
    delta.services.set([plumbing, tutoring])
    bravo.services.set([tutoring])
    _rate(alpha, 5)  # average 5.0, count 1
    _rate(bravo, 2, 4)  # average 3.0, count 2
    _rate(delta, 4, 4, 5)  # average 4.333, count 3
    # charlie has no ratings
    return {"alpha": alpha, "bravo": bravo, "charlie": charlie, "delta": delta}


def test_list_default_order_is_newest_first(api_client, directory):
    assert _names(api_client.get(URL)) == ["Delta Drains", "Charlie Cleaners", "Bravo Tutors", "Alpha Pipes"]


def test_list_search_matches_name_or_description_case_insensitively(api_client, directory):
    assert sorted(_names(api_client.get(URL, {"search": "PIPES"}))) == ["Alpha Pipes", "Delta Drains"]
    assert _names(api_client.get(URL, {"search": "physics"})) == ["Bravo Tutors"]
    assert _names(api_client.get(URL, {"search": "nothing-like-this"})) == []


def test_list_filters_by_service(api_client, directory):
    assert sorted(_names(api_client.get(URL, {"service": "plumbing"}))) == ["Alpha Pipes", "Delta Drains"]
    assert sorted(_names(api_client.get(URL, {"service": "tutoring"}))) == ["Bravo Tutors", "Delta Drains"]
    assert _names(api_client.get(URL, {"service": "unknown"})) == []


def test_list_filters_by_min_average(api_client, directory):
    assert sorted(_names(api_client.get(URL, {"min_average": "4.3"}))) == ["Alpha Pipes", "Delta Drains"]
    assert sorted(_names(api_client.get(URL, {"min_average": "3"}))) == ["Alpha Pipes", "Bravo Tutors", "Delta Drains"]
    assert _names(api_client.get(URL, {"min_average": "5"})) == ["Alpha Pipes"]


@pytest.mark.parametrize("value", ["abc", "0", "5.5", "-1"])
def test_list_rejects_an_invalid_min_average(api_client, directory, value):
    assert_error(api_client.get(URL, {"min_average": value}), 400, attr="min_average", type_="validation_error")


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("average", ["Charlie Cleaners", "Bravo Tutors", "Delta Drains", "Alpha Pipes"]),
        ("-average", ["Alpha Pipes", "Delta Drains", "Bravo Tutors", "Charlie Cleaners"]),
        ("count", ["Charlie Cleaners", "Alpha Pipes", "Bravo Tutors", "Delta Drains"]),
        ("-count", ["Delta Drains", "Bravo Tutors", "Alpha Pipes", "Charlie Cleaners"]),
        ("name", ["Alpha Pipes", "Bravo Tutors", "Charlie Cleaners", "Delta Drains"]),
        ("-name", ["Delta Drains", "Charlie Cleaners", "Bravo Tutors", "Alpha Pipes"]),
        ("created_at", ["Alpha Pipes", "Bravo Tutors", "Charlie Cleaners", "Delta Drains"]),
        ("-created_at", ["Delta Drains", "Charlie Cleaners", "Bravo Tutors", "Alpha Pipes"]),
    ],
)
def test_list_ordering(api_client, directory, ordering, expected):
    assert _names(api_client.get(URL, {"ordering": ordering})) == expected


@pytest.mark.parametrize(
    "ordering", ["email", "rating_sort_average", "-user__password", "id", "", "name,-count", "AAA"]
)
def test_list_refuses_an_undocumented_ordering(api_client, directory, ordering):
    assert_error(api_client.get(URL, {"ordering": ordering}), 400, "invalid_choice", attr="ordering")


def test_list_without_ordering_is_newest_first(api_client, directory):
    assert _names(api_client.get(URL)) == ["Delta Drains", "Charlie Cleaners", "Bravo Tutors", "Alpha Pipes"]


def _walk(client, params) -> list[str]:
    ids, url, pages = [], URL, 0
    query = dict(params)
    while url and pages < 50:
        response = client.get(url, query) if query else client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        ids.extend(p["id"] for p in body["results"])
        url, query, pages = body["next"], None, pages + 1
    assert url is None, "pagination did not end"
    return ids


def _walk_back(client, url) -> list[str]:
    ids, pages = [], 0
    while url and pages < 50:
        body = client.get(url).json()
        ids[:0] = [p["id"] for p in body["results"]]
        url, pages = body["previous"], pages + 1
    return ids


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ordering",
    ["average", "-average", "count", "-count", "name", "-name", "created_at", "-created_at"],
)
def test_cursor_pagination_walks_every_provider_exactly_once(api_client, ordering):
    # Many ties: 5 providers share each average/count, and names repeat.
    providers = []
    for i in range(23):
        p = ProviderFactory(name=f"Provider {i % 4}")
        providers.append(p)
        if i % 5:
            _rate(p, *([(i % 3) + 2] * (i % 5)))
    expected = _walk(api_client, {"ordering": ordering, "page_size": 100})
    assert sorted(expected) == sorted(str(p.pk) for p in providers)

    walked = _walk(api_client, {"ordering": ordering, "page_size": 4})
    assert len(walked) == len(set(walked)) == 23
    assert walked == expected


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", ["average", "-average", "count", "-name", "-created_at"])
def test_cursor_pagination_previous_links_walk_back_over_ties(api_client, ordering):
    for i in range(11):
        _rate(ProviderFactory(name=f"Provider {i % 2}"), *([4] * (i % 3)))
    forward = _walk(api_client, {"ordering": ordering, "page_size": 2})
    assert len(set(forward)) == 11

    body, pages = api_client.get(URL, {"ordering": ordering, "page_size": 2}).json(), 0
    while body["next"] and pages < 20:
        body, pages = api_client.get(body["next"]).json(), pages + 1
    back = _walk_back(api_client, body["previous"]) + [p["id"] for p in body["results"]]
    assert back == forward


@pytest.mark.django_db
def test_a_tampered_cursor_is_404_in_the_error_shape(api_client):
    ProviderFactory.create_batch(3)
    next_url = api_client.get(URL, {"page_size": 1}).json()["next"]
    assert next_url
    for cursor in ("garbage", "cD1ub3QtanNvbg==", "cD0lNUIlNUQ="):  # not base64; p=not-json; p=[]
        assert_error(api_client.get(URL, {"cursor": cursor}), 404, "not_found", attr=None)


@pytest.mark.django_db
def test_page_size_within_1_to_100_else_400(api_client):
    ProviderFactory.create_batch(3)
    response = api_client.get(URL, {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    for raw, code in (
        ("1000", "max_value"),
        ("101", "max_value"),
        ("0", "min_value"),
        ("-1", "invalid"),
        ("true", "invalid"),
        ("null", "invalid"),
        ("", "invalid"),
        ("٣", "invalid"),
    ):
        assert_error(api_client.get(URL, {"page_size": raw}), 400, code, attr="page_size")


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_providers(api_client, django_assert_max_num_queries):
    services = [ServiceCategoryFactory() for _ in range(3)]
    customers = CustomerFactory.create_batch(3)
    for i in range(30):
        p = ProviderFactory()
        p.services.set(services[: i % 4])
        for c in customers[: i % 4]:
            rating_make(customer=c, provider=p, score=(i % 5) + 1)

    with django_assert_max_num_queries(2):
        response = api_client.get(URL, {"page_size": 30, "ordering": "-average"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 30

    with django_assert_max_num_queries(2):
        response = api_client.get(URL, {"page_size": 30, "service": services[0].slug, "search": "a"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_list_results_carry_the_exact_summary(api_client):
    provider = ProviderFactory()
    _rate(provider, 1, 2, 2)
    result = api_client.get(URL).json()["results"][0]
    assert result["rating"] == {
        "provider_id": str(provider.pk),
        "count": 3,
        "average": 1.67,
        "bayesian_average": 2.81,  # (17.5 + 5) / 8 = 2.8125
        "distribution": {"1": 1, "2": 2, "3": 0, "4": 0, "5": 0},
        "verified_count": 0,
    }
