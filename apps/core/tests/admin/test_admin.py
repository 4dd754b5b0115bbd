import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import (
    CustomerFactory,
    ProviderFactory,
    ServiceCategoryFactory,
    UserFactory,
    rating_make,
)

MODELS = [(m._meta.app_label, m._meta.model_name) for m in admin.site._registry]


@pytest.fixture
def admin_client_with_data(client, db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    plumbing = ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    provider = ProviderFactory(name="Findable Pipes")
    provider.services.set([plumbing])
    ProviderFactory(name="Other Co")
    rating_make(customer=CustomerFactory(), provider=provider, score=4, comment="fine")
    client.force_login(staff)
    return client, provider


def test_every_project_model_is_registered():
    labels = {f"{app}.{model}" for app, model in MODELS}
    assert {
        "accounts.user",
        "customers.customer",
        "providers.provider",
        "providers.servicecategory",
        "ratings.rating",
        "ratings.ratingsummary",
    } <= labels


@pytest.mark.parametrize(("app_label", "model_name"), MODELS, ids=[f"{a}.{m}" for a, m in MODELS])
def test_staff_can_open_every_changelist(admin_client_with_data, app_label, model_name):
    client, _ = admin_client_with_data
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "a"}).status_code == 200


@pytest.mark.parametrize(("app_label", "model_name"), MODELS, ids=[f"{a}.{m}" for a, m in MODELS])
def test_staff_can_open_every_add_or_change_page(admin_client_with_data, app_label, model_name):
    client, _ = admin_client_with_data
    model = next(m for m in admin.site._registry if (m._meta.app_label, m._meta.model_name) == (app_label, model_name))
    obj = model._default_manager.first()
    if obj is not None:
        response = client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]))
        assert response.status_code == 200


def test_staff_can_search_providers_by_name_email_and_id(admin_client_with_data):
    client, provider = admin_client_with_data
    url = reverse("admin:providers_provider_changelist")
    for q in ("findable", provider.user.email.upper(), str(provider.pk)):
        response = client.get(url, {"q": q})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1, q
        assert list(response.context["cl"].result_list) == [provider]


def test_staff_can_find_a_providers_ratings_and_summary(admin_client_with_data):
    client, provider = admin_client_with_data
    ratings = client.get(reverse("admin:ratings_rating_changelist"), {"provider__id__exact": str(provider.pk)})
    assert ratings.status_code == 200
    assert ratings.context["cl"].result_count == 1
    summary = client.get(reverse("admin:ratings_ratingsummary_changelist"), {"q": "findable"})
    assert summary.status_code == 200
    assert [s.provider_id for s in summary.context["cl"].result_list] == [provider.pk]


def test_a_customer_is_redirected_to_the_login_page(client, customer):
    client.force_login(customer.user)
    url = reverse("admin:providers_provider_changelist")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_anonymous_is_redirected_to_the_login_page(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
