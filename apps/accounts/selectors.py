"""Reads of the accounts app."""

import uuid

from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from apps.accounts.models import User


def user_by_link_uid(*, uid: str) -> User | None:
    """The active user an emailed link's ``uid`` names; ``None`` if it names none."""
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first()
