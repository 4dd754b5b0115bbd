from django.db import transaction

from apps.accounts.services import user_create, user_erase
from apps.customers.models import Customer


@transaction.atomic
def customer_register(*, email: str, password: str | None, name: str) -> Customer:
    """Create a user and its customer profile in one transaction (``password=None``: no sign-in)."""
    user = user_create(email=email, password=password, name=name)
    return Customer.objects.create(user=user)


@transaction.atomic
def customer_delete(*, customer: Customer, password: str) -> None:
    """Erase the customer's account (see ``user_erase``); the customer row and its ratings stay,
    so rating summaries do not change, and the ratings show the author as a deleted user."""
    user_erase(user=customer.user, password=password)
