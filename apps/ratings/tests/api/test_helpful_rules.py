"""Votes that count: who may vote helpful, how often, and whose votes leave the count."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.services import user_deactivate, user_erase
from apps.ratings.models import Rating, RatingHelpfulVote
from apps.ratings.selectors import ratings_with_unusual_voting
from apps.ratings.services import helpful_vote_add, rating_create
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, ProviderFactory, ServiceCategoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/helpful/"


def verified(**kwargs):
    return UserFactory(email_verified_at=timezone.now(), **kwargs)


@pytest.fixture
def plumbing():
    return ServiceCategoryFactory(slug="plumbing")


@pytest.fixture
def rating(plumbing):
    provider = ProviderFactory()
    provider.services.add(plumbing)
    return rating_create(customer=CustomerFactory(), provider=provider, score=5, comment="Great")


def _count(rating) -> int:
    return Rating.objects.get(pk=rating.pk).helpful_count


def test_ten_fresh_unverified_accounts_add_nothing(rating):
    for _ in range(10):
        assert_error(auth_client(UserFactory()).post(url(rating)), 403, "email_not_verified")

    assert _count(rating) == 0
    assert not RatingHelpfulVote.objects.exists()


def test_a_competing_provider_cannot_vote_but_one_of_another_trade_can(rating, plumbing):
    competitor = ProviderFactory(user__email_verified_at=timezone.now())
    competitor.services.add(plumbing, ServiceCategoryFactory(slug="heating"))
    electrician = ProviderFactory(user__email_verified_at=timezone.now())
    electrician.services.add(ServiceCategoryFactory(slug="electrical"))

    assert_error(auth_client(competitor.user).post(url(rating)), 403, "competitor_cannot_vote")
    assert auth_client(electrician.user).post(url(rating)).status_code == 201

    assert _count(rating) == 1


def test_votes_are_limited_per_account_and_per_ip(settings, monkeypatch, rating):
    rates = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "helpful_vote": "2/hour",
        "helpful_vote_ip": "4/hour",
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    # DRF's throttles read their rates once, at import.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    others = [rating_create(customer=CustomerFactory(), provider=rating.provider, score=4) for _ in range(3)]
    voter = auth_client(verified())

    assert [voter.post(url(r)).status_code for r in [rating, others[0]]] == [201, 201]
    assert_error(voter.post(url(others[1])), 429, "throttled")
    # Another account from the same address (every attempt counts there, the refused one too):
    # one more vote, then the address is spent.
    second = auth_client(verified())
    assert second.post(url(others[2])).status_code == 201
    assert_error(second.post(url(rating)), 429, "throttled")

    assert RatingHelpfulVote.objects.count() == 3


def test_an_erased_accounts_votes_leave_the_count(rating, django_capture_on_commit_callbacks):
    voter = CustomerFactory(user__email_verified_at=timezone.now()).user
    helpful_vote_add(rating=rating, user=voter)
    helpful_vote_add(rating=rating, user=verified())
    assert _count(rating) == 2

    with django_capture_on_commit_callbacks(execute=True):
        user_erase(user=voter, password=DEFAULT_PASSWORD)

    assert _count(rating) == 1
    assert not RatingHelpfulVote.objects.filter(user=voter).exists()


def test_a_banned_accounts_votes_leave_the_count(rating, django_capture_on_commit_callbacks):
    voter = verified()
    helpful_vote_add(rating=rating, user=voter)

    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=voter)

    assert _count(rating) == 0
    assert not RatingHelpfulVote.objects.exists()


def test_staff_see_a_burst_of_votes_from_new_accounts(rating, staff_user):
    quiet = rating_create(customer=CustomerFactory(), provider=rating.provider, score=3)
    for _ in range(5):
        helpful_vote_add(rating=rating, user=verified())
    old_hands = [verified(date_joined=timezone.now() - timedelta(days=90)) for _ in range(5)]
    for user in old_hands:
        helpful_vote_add(rating=quiet, user=user)

    assert list(ratings_with_unusual_voting(Rating.objects.all())) == [rating]

    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    page = client.get("/admin/ratings/rating/", {"voting": "unusual"})
    assert page.status_code == 200
    assert [str(r.pk) for r in page.context["cl"].result_list] == [str(rating.pk)]
    votes = client.get("/admin/ratings/ratinghelpfulvote/", {"voter": "new"})
    assert votes.status_code == 200
    assert votes.context["cl"].result_count == 5
