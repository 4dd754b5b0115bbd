import pytest
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.core.exceptions import AlreadyExists
from tests.factories import CustomerFactory, ProviderFactory, UserFactory


@pytest.mark.django_db
def test_user_create_lowercases_the_email_and_hashes_the_password():
    user = user_create(email="Ann@Example.COM", password="a-long-enough-secret", name="Ann")
    assert user.email == "ann@example.com"
    assert user.name == "Ann"
    assert user.check_password("a-long-enough-secret")
    assert user.password != "a-long-enough-secret"
    assert user.is_staff is False
    assert user.is_active is True


@pytest.mark.django_db
def test_user_create_rejects_a_taken_email_in_any_case():
    UserFactory(email="ann@example.com")
    with pytest.raises(AlreadyExists):
        user_create(email="ANN@example.com", password="a-long-enough-secret", name="Ann")
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_user_create_rejects_a_weak_password():
    with pytest.raises(ValidationError) as exc:
        user_create(email="ann@example.com", password="password", name="Ann")
    assert "password" in exc.value.detail
    assert User.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: UserFactory(), []),
        (lambda: CustomerFactory().user, ["customer"]),
        (lambda: ProviderFactory().user, ["provider"]),
        (lambda: UserFactory(is_staff=True), ["staff"]),
    ],
    ids=["plain", "customer", "provider", "staff"],
)
def test_roles_are_derived_from_profiles(make, expected):
    user = User.objects.get(pk=make().pk)
    assert user.roles == expected
    assert user.is_customer is ("customer" in expected)
    assert user.is_provider is ("provider" in expected)


@pytest.mark.django_db
def test_a_user_with_both_profiles_has_both_roles():
    user = CustomerFactory(user__is_staff=True).user
    ProviderFactory(user=user)
    assert User.objects.get(pk=user.pk).roles == ["customer", "provider", "staff"]
