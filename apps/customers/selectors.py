from apps.accounts.models import User
from apps.core.exceptions import NotFound
from apps.customers.models import Customer


def customer_get_visible(*, customer_id, viewer: User) -> Customer:
    """A customer profile as ``viewer`` may see it: their own, or any for staff; else 404."""
    customer = Customer.objects.select_related("user").filter(pk=customer_id).first()
    if customer is None or not (viewer.is_staff or customer.user_id == viewer.pk):
        raise NotFound()
    return customer
