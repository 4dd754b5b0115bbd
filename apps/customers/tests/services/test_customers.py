import pytest

from apps.accounts.models import User
from apps.core.exceptions import AlreadyExists
from apps.customers.models import Customer
from apps.customers.services import customer_register
from tests.factories import UserFactory


@pytest.mark.django_db
def test_customer_register_creates_user_and_profile():
    customer = customer_register(email="ann@example.com", password="a-long-enough-secret", name="Ann")
    assert customer.user.email == "ann@example.com"
    assert customer.name == "Ann"
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_customer_register_with_a_taken_email_writes_nothing():
    UserFactory(email="ann@example.com")
    with pytest.raises(AlreadyExists):
        customer_register(email="Ann@Example.com", password="a-long-enough-secret", name="Ann")
    assert User.objects.count() == 1
    assert Customer.objects.count() == 0
