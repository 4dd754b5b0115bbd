import pytest

from apps.core.exceptions import NotFound
from apps.customers.selectors import customer_get_visible
from tests.factories import CustomerFactory, UserFactory


@pytest.mark.django_db
def test_customer_get_visible_to_self_and_staff_only():
    customer = CustomerFactory()
    assert customer_get_visible(customer_id=customer.pk, viewer=customer.user) == customer
    assert customer_get_visible(customer_id=customer.pk, viewer=UserFactory(is_staff=True)) == customer
    with pytest.raises(NotFound):
        customer_get_visible(customer_id=customer.pk, viewer=CustomerFactory().user)
