from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.idempotency import idempotency_keys_purge
from apps.core.models import IdempotencyKey
from tests.factories import UserFactory


@pytest.mark.django_db
def test_purge_removes_only_expired_keys(settings):
    user = UserFactory()

    def make(key):
        return IdempotencyKey.objects.create(
            user=user, key=key, method="POST", path="/x", request_fingerprint="f", response_status=201, response_body={}
        )

    make("fresh")
    old = make("old")
    IdempotencyKey.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(minutes=1)
    )
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
