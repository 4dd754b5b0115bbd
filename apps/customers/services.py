from django.db import transaction

from apps.accounts.models import DEFAULT_LOCALE
from apps.accounts.services import account_claim_request, user_create, user_erase
from apps.customers.models import Customer


@transaction.atomic
def customer_register(*, email: str, password: str | None, name: str, locale: str = DEFAULT_LOCALE) -> Customer:
    """Create a user and its customer profile in one transaction (``password=None``: no sign-in)."""
    user = user_create(email=email, password=password, name=name, locale=locale)
    return Customer.objects.create(user=user)


def customer_sign_up(*, email: str, password: str, name: str, locale: str = DEFAULT_LOCALE) -> Customer | None:
    """Self-service sign-up: the new customer, or ``None`` when the address belongs to an
    account a partner made (no password yet): its owner was emailed a link to claim that one,
    which keeps the partner's record of it."""
    if account_claim_request(email=email):
        return None
    return customer_register(email=email, password=password, name=name, locale=locale)


@transaction.atomic
def customer_delete(*, customer: Customer, password: str) -> None:
    """Erase the customer's account (see ``user_erase``); the customer row and its ratings stay,
    so rating summaries do not change, and the ratings show the author as a deleted user."""
    user_erase(user=customer.user, password=password)
