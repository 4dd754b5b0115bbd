import pytest

from apps.core.exceptions import NotFound, PermissionDenied
from apps.ratings.models import RatingSummary
from apps.ratings.selectors import rating_get_for_author, rating_list, rating_summary_get
from tests.factories import CustomerFactory, ProviderFactory, rating_make


@pytest.mark.django_db
def test_rating_list_filters_by_provider_and_customer():
    customer, provider = CustomerFactory(), ProviderFactory()
    mine = rating_make(customer=customer, provider=provider)
    theirs = rating_make(provider=provider)
    elsewhere = rating_make(customer=customer)
    assert list(rating_list(provider_id=provider.pk)) == [theirs, mine]
    assert list(rating_list(customer_id=customer.pk)) == [elsewhere, mine]
    assert list(rating_list(customer_id=customer.pk, provider_id=provider.pk)) == [mine]


@pytest.mark.django_db
def test_rating_get_for_author():
    rating = rating_make()
    assert rating_get_for_author(rating_id=rating.pk, user=rating.customer.user) == rating
    with pytest.raises(PermissionDenied):
        rating_get_for_author(rating_id=rating.pk, user=CustomerFactory().user)
    with pytest.raises(NotFound):
        rating_get_for_author(rating_id="00000000-0000-0000-0000-000000000000", user=rating.customer.user)


@pytest.mark.django_db
def test_rating_summary_get(django_assert_num_queries):
    provider, unrated = ProviderFactory(), ProviderFactory()
    rating_make(provider=provider, score=3)
    with django_assert_num_queries(1):
        assert rating_summary_get(provider_id=provider.pk).stars == [0, 0, 1, 0, 0]
    empty = rating_summary_get(provider_id=unrated.pk)
    assert (empty.count, empty.sum, empty.stars, empty._state.adding) == (0, 0, [0, 0, 0, 0, 0], False)
    # A provider whose row went missing still reads as empty (the recompute command recreates it).
    RatingSummary.objects.filter(provider=unrated).delete()
    empty = rating_summary_get(provider_id=unrated.pk)
    assert (empty.count, empty.sum, empty.stars, empty._state.adding) == (0, 0, [0, 0, 0, 0, 0], True)
    with pytest.raises(NotFound):
        rating_summary_get(provider_id="00000000-0000-0000-0000-000000000000")
