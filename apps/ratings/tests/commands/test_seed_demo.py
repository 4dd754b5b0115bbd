from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.customers.models import Customer
from apps.providers.models import Provider, ServiceCategory
from apps.ratings.models import Rating, RatingReply, RatingReport, RatingStatus
from apps.ratings.services import rating_summaries_recompute

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_demo_once_with_exact_summaries():
    out = StringIO()
    call_command("seed_demo", stdout=out)

    printed = out.getvalue().splitlines()
    assert printed[:8] == [
        "Demo data created.",
        "Sign in with any of these (password demo-pass-2026):",
        "  staff (superuser): staff@example.com       the admin: users, partner API keys, delivery providers",
        "  moderator:         moderator@example.com   the admin's moderation queue: publish or hide, with a reason",
        "  customer:          alice@example.com       rate Ada's Maths Tutoring or Volt Electrical",
        "  customer:          bob@example.com         rate Ada's Maths Tutoring or Volt Electrical",
        "  customer:          carol@example.com       rate Sparkle Cleaners or Ada's Maths Tutoring",
        "  provider:          pipes@example.com       Pipe Dreams Plumbing's inbox of ratings, and a reply to one",
    ]
    assert (ServiceCategory.objects.count(), Provider.objects.count(), Customer.objects.count()) == (4, 4, 3)
    assert Rating.objects.filter(status=RatingStatus.PUBLISHED).count() == 5
    assert Rating.objects.filter(status=RatingStatus.PENDING_REVIEW).count() == 1
    # Every customer still has two providers to rate.
    for customer in Customer.objects.all():
        assert Provider.objects.exclude(ratings__customer=customer).count() == 2
    # The moderation queue: the held rating and a rating its provider reported.
    report = RatingReport.objects.select_related("rating__customer__user", "rating__provider", "reporter").get()
    assert (str(report.rating), report.reporter.email, report.status) == (
        "★★ by Carol for Pipe Dreams Plumbing",
        "pipes@example.com",
        "open",
    )
    assert RatingReply.objects.get().rating.customer.user.email == "alice@example.com"
    moderator = User.objects.get(email="moderator@example.com")
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.values_list("name", flat=True)) == ["moderators"]
    assert User.objects.get(email="staff@example.com").is_superuser
    assert rating_summaries_recompute(fix=False) == []

    users_before = User.objects.count()
    again = StringIO()
    call_command("seed_demo", stdout=again)

    assert "Demo data already present, with whatever earlier runs changed in it" in again.getvalue()
    assert User.objects.count() == users_before
    assert Rating.objects.count() == 6
