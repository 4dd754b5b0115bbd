import pytest
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User
from apps.providers.models import Provider
from apps.providers.services import provider_register, provider_update
from tests.factories import ProviderFactory, ServiceCategoryFactory


@pytest.mark.django_db
def test_provider_register_with_an_unknown_slug_writes_nothing():
    ServiceCategoryFactory(slug="plumbing")
    with pytest.raises(ValidationError) as exc:
        provider_register(email="p@example.com", password="a-long-enough-secret", name="P", services=["x", "plumbing"])
    assert exc.value.detail == {"services": ["Unknown service category: x."]}
    assert (User.objects.count(), Provider.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_provider_update_changes_only_the_given_fields():
    provider = ProviderFactory(name="Old", description="Keep me")
    tiling = ServiceCategoryFactory(slug="tiling")
    provider_update(provider=provider, name="New", services=["tiling"])
    provider.refresh_from_db()
    assert (provider.name, provider.description) == ("New", "Keep me")
    assert list(provider.services.all()) == [tiling]
