import pytest

from apps.core.exceptions import NotFound, PermissionDenied
from apps.providers.selectors import provider_get, provider_get_for_edit
from tests.factories import CustomerFactory, ProviderFactory, UserFactory, rating_make


@pytest.mark.django_db
def test_provider_get_annotates_the_summary_and_zeros_when_unrated():
    rated, unrated = ProviderFactory(), ProviderFactory()
    rating_make(provider=rated, score=5)
    rating_make(provider=rated, score=2)
    got = provider_get(provider_id=rated.pk)
    assert (got.rating_count, got.rating_sum, got.rating_stars_2, got.rating_stars_5) == (2, 7, 1, 1)
    empty = provider_get(provider_id=unrated.pk)
    assert (empty.rating_count, empty.rating_sum, empty.rating_sort_average) == (0, 0, -1.0)


@pytest.mark.django_db
def test_provider_get_for_edit_owner_and_staff_only():
    provider = ProviderFactory()
    assert provider_get_for_edit(provider_id=provider.pk, user=provider.user) == provider
    assert provider_get_for_edit(provider_id=provider.pk, user=UserFactory(is_staff=True)) == provider
    with pytest.raises(PermissionDenied):
        provider_get_for_edit(provider_id=provider.pk, user=CustomerFactory().user)
    with pytest.raises(NotFound):
        provider_get(provider_id="00000000-0000-0000-0000-000000000000")
