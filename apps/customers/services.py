from django.db import transaction

from apps.accounts.services import user_create
from apps.customers.models import Customer


@transaction.atomic
def customer_register(*, email: str, password: str | None, name: str) -> Customer:
    """Create a user and its customer profile in one transaction (``password=None``: no sign-in)."""
    user = user_create(email=email, password=password, name=name)
    return Customer.objects.create(user=user)
