import pytest

from apps.core.exceptions import NotFound, PermissionDenied
from apps.providers.selectors import provider_get, provider_get_for_edit, provider_list
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


@pytest.mark.django_db
def test_provider_list_is_a_fresh_queryset_on_every_call():
    # The annotated queryset is built once per process: each call must still see the rows and
    # summaries of its own moment, and narrowing one call's queryset must not narrow the next.
    first = ProviderFactory()
    narrowed = provider_list().filter(pk=first.pk)
    assert [p.pk for p in narrowed] == [first.pk]
    second = ProviderFactory()
    rating_make(provider=second, score=4)
    rows = {p.pk: p for p in provider_list()}
    assert set(rows) == {first.pk, second.pk}
    assert (rows[second.pk].rating_count, rows[second.pk].rating_sum) == (1, 4)
    assert provider_list() is not provider_list()
    assert provider_list().query is not provider_list().query
