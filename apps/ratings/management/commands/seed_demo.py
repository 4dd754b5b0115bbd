"""Seed a small demo marketplace once: categories, providers, customers, ratings, staff."""

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User
from apps.customers.services import customer_register
from apps.providers.models import ServiceCategory
from apps.providers.services import provider_register
from apps.ratings.services import rating_create

DEMO_PASSWORD = "demo-pass-2026"
STAFF_EMAIL = "staff@example.com"
MODERATOR_EMAIL = "moderator@example.com"
CATEGORIES = [
    ("plumbing", "Plumbing"),
    ("cleaning", "Cleaning"),
    ("tutoring", "Tutoring"),
    ("electrical", "Electrical"),
]
PROVIDERS = [
    ("pipes@example.com", "Pipe Dreams Plumbing", "Leaks fixed the same day.", ["plumbing"]),
    ("sparkle@example.com", "Sparkle Cleaners", "Homes and offices, eco products.", ["cleaning"]),
    ("ada@example.com", "Ada's Maths Tutoring", "GCSE and A-level maths.", ["tutoring"]),
    ("volt@example.com", "Volt Electrical", "Certified electricians, 24/7.", ["electrical", "plumbing"]),
]
CUSTOMERS = [("alice@example.com", "Alice"), ("bob@example.com", "Bob"), ("carol@example.com", "Carol")]
SCORES = {  # customer index -> provider index -> (score, comment)
    0: {0: (5, "Fixed our boiler in an hour."), 1: (4, "Very thorough."), 2: (5, "")},
    2: {1: (5, "Spotless!"), 2: (4, "My son finally likes algebra.")},
    # Held for review by the automatic rules (a link), so the moderation queue has work.
    1: {0: (4, "Good work, a bit late."), 3: (3, "Did the job."), 1: (1, "Cheaper at https://example.com")},
}


class Command(BaseCommand):
    help = "Create demo data once (idempotent): categories, providers, customers, ratings and a staff user."

    @transaction.atomic
    def handle(self, *args, **options):
        if User.objects.filter(email=STAFF_EMAIL).exists():
            self.stdout.write("Demo data already present.")
            self._print_credentials()
            return
        for slug, name in CATEGORIES:
            ServiceCategory.objects.get_or_create(slug=slug, defaults={"name": name})
        providers = [
            provider_register(email=e, password=DEMO_PASSWORD, name=n, description=d, services=s)
            for e, n, d, s in PROVIDERS
        ]
        customers = [customer_register(email=e, password=DEMO_PASSWORD, name=n) for e, n in CUSTOMERS]
        for c_index, ratings in SCORES.items():
            for p_index, (score, comment) in ratings.items():
                rating_create(customer=customers[c_index], provider=providers[p_index], score=score, comment=comment)
        moderator = User.objects.create_user(
            email=MODERATOR_EMAIL, password=DEMO_PASSWORD, name="Moderator", is_staff=True
        )
        moderator.groups.add(Group.objects.get(name="moderators"))
        User.objects.create_superuser(email=STAFF_EMAIL, password=DEMO_PASSWORD, name="Staff")
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_credentials()

    def _print_credentials(self):
        self.stdout.write(
            f"  staff (admin):  {STAFF_EMAIL} / {DEMO_PASSWORD}\n"
            f"  moderator:      {MODERATOR_EMAIL} / {DEMO_PASSWORD}\n"
            f"  customers:      {', '.join(e for e, _ in CUSTOMERS)} / {DEMO_PASSWORD}\n"
            f"  providers:      {', '.join(p[0] for p in PROVIDERS)} / {DEMO_PASSWORD}"
        )
