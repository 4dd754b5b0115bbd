from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.customers.models import Customer
from apps.providers.models import Provider, ServiceCategory
from apps.ratings.models import Rating, RatingStatus
from apps.ratings.services import rating_summaries_recompute

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_demo_once_with_exact_summaries():
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert "Demo data created." in out.getvalue()
    assert "moderator@example.com / demo-pass-2026" in out.getvalue()
    assert (ServiceCategory.objects.count(), Provider.objects.count(), Customer.objects.count()) == (4, 4, 3)
    assert Rating.objects.filter(status=RatingStatus.PUBLISHED).count() == 7
    assert Rating.objects.filter(status=RatingStatus.PENDING_REVIEW).count() == 1
    moderator = User.objects.get(email="moderator@example.com")
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.values_list("name", flat=True)) == ["moderators"]
    assert User.objects.get(email="staff@example.com").is_superuser
    assert rating_summaries_recompute(fix=False) == []

    users_before = User.objects.count()
    again = StringIO()
    call_command("seed_demo", stdout=again)

    assert "Demo data already present." in again.getvalue()
    assert User.objects.count() == users_before
    assert Rating.objects.count() == 8
