"""Page queries compiled once per shape answer what the ORM answers, for every caller."""

from datetime import timedelta

import pytest
from django.db.models import Value
from django.utils import timezone

from apps.core import pagination
from apps.core.db import page_queries
from apps.core.db.page_queries import page_rows
from apps.notifications.models import Notification
from apps.notifications.selectors import notification_list
from apps.providers.models import Provider
from apps.providers.selectors import provider_list
from conftest import auth_client
from tests.factories import CustomerFactory, NotificationFactory, ProviderFactory, ServiceCategoryFactory, rating_make

pytestmark = pytest.mark.django_db

ORDERINGS = ["", *(f"{sign}{name}" for name in ("average", "count", "name", "created_at") for sign in ("", "-"))]


@pytest.fixture(autouse=True)
def _empty_cache():
    page_queries._compiled.clear()
    yield
    page_queries._compiled.clear()


@pytest.fixture
def directory():
    plumbing = ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    providers = [ProviderFactory(name=f"Provider {i % 3}") for i in range(7)]
    providers[0].services.set([plumbing])
    for i, provider in enumerate(providers[:5]):
        for score in range(1, i + 2):
            rating_make(customer=CustomerFactory(), provider=provider, score=min(score, 5))
    return providers


def _walk(client, url: str) -> list[dict]:
    """Every page forward from ``url`` and back again from the last, as bodies."""
    bodies = []
    while url:
        body = client.get(url).json()
        bodies.append(body)
        url = body["next"]
    url = bodies[-1]["previous"]
    while url:
        body = client.get(url).json()
        bodies.append(body)
        url = body["previous"]
    return bodies


def test_the_directory_pages_are_the_orm_s_in_every_ordering_both_ways(api_client, directory, monkeypatch):
    for ordering in ORDERINGS:
        url = f"/api/v1/providers/?page_size=2&ordering={ordering}" if ordering else "/api/v1/providers/?page_size=2"
        cached = _walk(api_client, url)
        with monkeypatch.context() as m:
            m.setattr(pagination, "page_rows", list)
            assert _walk(api_client, url) == cached, ordering
        assert len(cached) == 7  # four pages forward, three back
    assert page_queries._compiled  # the shapes were kept, and answered the second walks


def test_a_kept_shape_reads_the_rows_of_this_moment(api_client, directory):
    first = api_client.get("/api/v1/providers/?ordering=-count").json()["results"]
    rating_make(customer=CustomerFactory(), provider=directory[6], score=5)
    second = api_client.get("/api/v1/providers/?ordering=-count").json()["results"]
    assert [r["rating"]["count"] for r in second] == sorted([r["rating"]["count"] for r in first] + [1], reverse=True)[
        : len(second)
    ]
    assert {r["id"]: r for r in second}[str(directory[6].pk)]["rating"]["count"] == 1


def test_each_caller_reads_their_own_inbox_from_a_shared_shape():
    ana, ben = CustomerFactory().user, CustomerFactory().user
    now = timezone.now()
    for i in range(3):
        NotificationFactory(recipient_id=ana.pk, title=f"ana {i}", created_at=now - timedelta(minutes=i))
        NotificationFactory(recipient_id=ben.pk, title=f"ben {i}", created_at=now - timedelta(minutes=i))
    read = Notification.objects.filter(recipient_id=ben.pk, title="ben 1")
    read.update(read_at=now)
    titles = {}
    for user in (ana, ben, ana):
        client = auth_client(user)
        titles[user.pk] = [n["title"] for n in client.get("/api/v1/notifications/").json()["results"]]
    assert titles == {ana.pk: ["ana 0", "ana 1", "ana 2"], ben.pk: ["ben 0", "ben 1", "ben 2"]}
    assert len(page_queries._compiled) == 1
    ben_client = auth_client(ben)
    unread = [n["title"] for n in ben_client.get("/api/v1/notifications/?unread=true").json()["results"]]
    seen = [n["title"] for n in ben_client.get("/api/v1/notifications/?unread=false").json()["results"]]
    assert (unread, seen) == (["ben 0", "ben 2"], ["ben 1"])
    assert len(page_queries._compiled) == 3


def test_rows_are_the_orm_s_models_with_their_annotations(directory):
    queryset = provider_list().order_by("-rating_sort_average", "-id")[:5]
    for _ in range(2):  # filling the shape, then reading through it
        rows = page_rows(queryset)
        expected = list(queryset)
        assert [type(r) for r in rows] == [Provider] * 5
        assert [(r.pk, r.name, r.created_at, r.services_data, r.rating_count, r.rating_sum) for r in rows] == [
            (r.pk, r.name, r.created_at, r.services_data, r.rating_count, r.rating_sum) for r in expected
        ]
        assert not rows[0]._state.adding and rows[0]._state.db == "default"


def test_what_the_shape_cannot_hold_goes_through_the_orm(directory):
    recipient = directory[0].user_id
    NotificationFactory(recipient_id=recipient)
    # A parameter outside the WHERE clause (in the select list): not kept, still right.
    with_value = provider_list().annotate(marker=Value("x")).order_by("name", "id")[:3]
    assert [(r.pk, r.marker) for r in page_rows(with_value)] == [(r.pk, "x") for r in with_value]
    # Related objects, values(), DISTINCT: the ORM's own iteration.
    related = Provider.objects.select_related("user").order_by("id")[:3]
    assert [r.user.email for r in page_rows(related)] == [r.user.email for r in related]
    assert page_rows(Provider.objects.values("name").order_by("name")) == list(
        Provider.objects.values("name").order_by("name")
    )
    assert len(page_rows(notification_list(recipient_id=recipient).distinct()[:5])) == 1
    assert list(page_queries._compiled.values()) == [None]  # the select-list parameter's shape
    # A WHERE clause that can match nothing: no query at all.
    assert page_rows(Provider.objects.filter(pk__in=[]).order_by("id")[:3]) == []


def test_a_key_lookup_answers_the_orm_s_row_or_none(directory):
    from apps.ratings.models import RatingSummary

    page_queries._by_pk.clear()
    provider = directory[4]
    for _ in range(2):  # compiling the statement, then reading through it
        row = page_queries.row_by_pk(RatingSummary, provider.pk)
        expected = RatingSummary.objects.get(pk=provider.pk)
        fields = [f.attname for f in RatingSummary._meta.concrete_fields]
        assert [getattr(row, f) for f in fields] == [getattr(expected, f) for f in fields]
        assert (row.count, row.stars) == (5, [1, 1, 1, 1, 1])
        assert not row._state.adding and row._state.db == "default"
    # The key as the URL converter gives it, or as text: the same row.
    assert page_queries.row_by_pk(RatingSummary, str(provider.pk)).pk == provider.pk
    assert page_queries.row_by_pk(RatingSummary, "00000000-0000-0000-0000-000000000000") is None
    assert list(page_queries._by_pk) == [("default", RatingSummary, "False", "")]


def test_rows_with_json_are_the_orm_s_and_init_receivers_still_hear_of_them():
    from django.db.models.signals import post_init

    recipient = CustomerFactory().user.pk
    data = {"nested": {"list": [1, 2.5, "three", None, True]}, "big": 2**70, "text": "é\u2028"}
    NotificationFactory(recipient_id=recipient, data=data)
    NotificationFactory(recipient_id=recipient, data={})
    queryset = notification_list(recipient_id=recipient)[:5]
    fields = [f.attname for f in Notification._meta.concrete_fields]
    for _ in range(2):
        rows = page_rows(queryset)
        assert [[getattr(r, f) for f in fields] for r in rows] == [[getattr(r, f) for f in fields] for r in queryset]
    assert rows[1].data == data and type(rows[1].data["big"]) is int
    assert not rows[0]._state.adding and rows[0]._state.db == "default"
    # A post_init receiver (a model that needs Model.__init__): every row goes through it.
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(receiver, sender=Notification)
    try:
        assert [r.pk for r in page_rows(queryset)] == [r.pk for r in heard] == [r.pk for r in queryset]
    finally:
        post_init.disconnect(receiver, sender=Notification)


def test_a_key_lookup_joins_what_select_related_joins():
    from apps.accounts.models import User

    page_queries._by_pk.clear()
    customer, provider = CustomerFactory(), ProviderFactory()
    staff = User.objects.create_user(email="staff@example.com", password="x" * 12, name="Staff Member")
    with_profiles = User.objects.select_related("customer", "provider")
    for _ in range(2):
        for user in (customer.user, provider.user, staff):
            row = page_queries.row_by_pk(with_profiles, user.pk)
            assert (row.pk, row.email, row.is_customer, row.is_provider) == (
                user.pk,
                user.email,
                user.is_customer,
                user.is_provider,
            )
    row = page_queries.row_by_pk(with_profiles, customer.user.pk)
    assert row.customer.pk == customer.pk and row.customer.user is row
    assert page_queries.row_by_pk(with_profiles, provider.user.pk).provider.name == provider.name
    # The profiles came with the user: reading them costs no query.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        row = page_queries.row_by_pk(with_profiles, provider.user.pk)
        assert (row.is_customer, row.provider.pk) == (False, provider.pk)
    assert len(queries) == 1
    # Another join, or a filtered base, is a shape of its own or the ORM's way.
    assert page_queries.row_by_pk(User.objects.select_related("customer"), staff.pk).pk == staff.pk
    assert page_queries.row_by_pk(User.objects.filter(is_active=False), staff.pk) is None
    assert page_queries.row_by_pk(User.objects.filter(is_active=True), staff.pk).pk == staff.pk
    staff.is_active = False
    staff.save()
    assert page_queries.row_by_pk(User.objects.filter(is_active=False), staff.pk).pk == staff.pk
    assert page_queries.row_by_pk(User.objects.filter(is_active=True), staff.pk) is None
    # A filter with a parameter of its own: the ORM's way, remembered as such.
    assert page_queries.row_by_pk(User.objects.filter(email=staff.email), staff.pk).pk == staff.pk
    assert [entry is None for entry in page_queries._by_pk.values()] == [False, False, False, False, True]


def test_values_by_a_key_are_the_orm_s():
    from apps.partners.models import Partner, PartnerProvider

    page_queries._values_by.clear()
    provider, other = ProviderFactory(), ProviderFactory()
    partners = [Partner.objects.create(name=f"Partner {i}") for i in range(3)]
    for partner in partners[:2]:
        PartnerProvider.objects.create(partner=partner, provider=provider)
    for _ in range(2):
        for who in (provider, other):
            found = page_queries.values_by(PartnerProvider, "partner_id", key="provider_id", value=who.pk)
            expected = list(PartnerProvider.objects.filter(provider_id=who.pk).values_list("partner_id", flat=True))
            assert sorted(found) == sorted(expected)
            assert all(type(v) is type(e) for v, e in zip(found, expected, strict=True))
    assert sorted(page_queries.values_by(PartnerProvider, "partner_id", key="provider_id", value=str(provider.pk))) == (
        sorted(p.pk for p in partners[:2])
    )
    assert len(page_queries._values_by) == 1
