"""Seed a small demo marketplace once: categories, providers, customers, ratings, a report, a
reply and staff (the data is in apps/ratings/demo.py)."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User
from apps.customers.services import customer_register
from apps.providers.models import ServiceCategory
from apps.providers.services import provider_register
from apps.ratings.demo import (
    CATEGORIES,
    CUSTOMERS,
    DEMO_PASSWORD,
    MODERATOR_EMAIL,
    PROVIDERS,
    REPLIES,
    REPORTS,
    SCORES,
    STAFF_EMAIL,
    demo_accounts,
)
from apps.ratings.services import rating_create, reply_set, report_create


class Command(BaseCommand):
    help = "Create demo data once (idempotent): categories, providers, customers, ratings and staff users."

    @transaction.atomic
    def handle(self, *args, **options):
        if User.objects.filter(email=STAFF_EMAIL).exists():
            self.stdout.write(
                "Demo data already present, with whatever earlier runs changed in it "
                "(`make demo-reset` starts again from the demo as created)."
            )
            self._print_credentials()
            return
        for slug, name in CATEGORIES:
            ServiceCategory.objects.get_or_create(slug=slug, defaults={"name": name})
        providers = [
            provider_register(email=e, password=DEMO_PASSWORD, name=n, description=d, services=s)
            for e, n, d, s in PROVIDERS
        ]
        customers = [customer_register(email=e, password=DEMO_PASSWORD, name=n) for e, n in CUSTOMERS]
        ratings = {}
        for c_index, scores in SCORES.items():
            for p_index, (score, comment) in scores.items():
                ratings[p_index, c_index] = rating_create(
                    customer=customers[c_index], provider=providers[p_index], score=score, comment=comment
                )
        for p_index, c_index, reason, details in REPORTS:
            report_create(
                rating=ratings[p_index, c_index], reporter=providers[p_index].user, reason=reason, details=details
            )
        for p_index, c_index, body in REPLIES:
            reply_set(rating=ratings[p_index, c_index], body=body)
        moderator = User.objects.create_user(
            email=MODERATOR_EMAIL, password=DEMO_PASSWORD, name="Moderator", is_staff=True
        )
        moderator.groups.add(Group.objects.get(name="moderators"))
        User.objects.create_superuser(email=STAFF_EMAIL, password=DEMO_PASSWORD, name="Staff")
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_credentials()

    def _print_credentials(self):
        self.stdout.write(f"Sign in with any of these (password {DEMO_PASSWORD}):")
        for account in demo_accounts():
            self.stdout.write(f"  {account.role + ':':<18} {account.email:<23} {account.try_first}")
        self.stdout.write(
            f"  {'other providers:':<18} {', '.join(p[0] for p in PROVIDERS[1:])}\n"
            # `make run` sets it from the port the server will listen on.
            f"Start at {settings.PUBLIC_BASE_URL}/ (API docs, the admin, the inbox)."
        )
