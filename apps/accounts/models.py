import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.emails import email_normalize
from apps.core.validators import single_line_text

# The source language of every text: a user who never chose one reads English.
DEFAULT_LOCALE = "en"


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    PROVIDER = "provider", "Provider"
    STAFF = "staff", "Staff"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email_normalize(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address.

    What a user may do follows from what they *are*: a ``Customer`` profile makes them a
    customer, a ``Provider`` profile a provider, ``is_staff`` staff.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150, validators=[single_line_text])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the user follows the link of a verification email sent to ``email``; cleared
    # when the email changes.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Every token issued up to this time is refused (the account was deleted or deactivated):
    # the source of truth of the revocation marks the token check reads (apps/accounts/revocation.py).
    tokens_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The language the user's notices (emails, inbox, digests, webhook text) are worded in: set
    # at sign-up from Accept-Language, changed on the profile; published to the notifications
    # app as ``account.locale_set``, which keeps its own copy (it has no users table).
    locale = models.CharField(max_length=8, choices=settings.LANGUAGES, default=DEFAULT_LOCALE)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_uniq"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def roles(self) -> list[str]:
        roles = []
        if self.is_customer:
            roles.append(Role.CUSTOMER.value)
        if self.is_provider:
            roles.append(Role.PROVIDER.value)
        if self.is_staff:
            roles.append(Role.STAFF.value)
        return roles

    @property
    def is_customer(self) -> bool:
        return hasattr(self, "customer")

    @property
    def is_provider(self) -> bool:
        return hasattr(self, "provider")


class DataExport(models.Model):
    """A user's export of everything stored about them ("your data, yours"), built by a task.

    ``archive`` holds the JSON once built; while remote parts (``apps.core.exports``) are still
    awaited (``parts_awaited``) it holds the local sections, the export is pending and nothing
    serves it. The emailed link (a signed token of the id) downloads
    it until ``expires_at``. The row is the record of when the user last asked (one export per
    ``ACCOUNT_EXPORT_INTERVAL``); the retention purge ``account_exports`` deletes it, archive and
    all, once both that interval and the link's life are over. Deleting the user deletes them.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    archive = models.JSONField(null=True, blank=True, editable=False)
    requested_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The names of the remote parts asked for and not attached yet; the export is ready when
    # none is left. db_default: rows written by a release that predates the column await none.
    parts_awaited = models.JSONField(
        default=list, blank=True, editable=False, db_default=Value([], output_field=models.JSONField())
    )

    class Meta:
        indexes = [
            models.Index(fields=["user", "-requested_at"], name="accounts_export_user_idx"),
            # The retention purge walks (requested_at, id).
            models.Index(fields=["requested_at", "id"], name="accounts_export_purge_idx"),
        ]

    def __str__(self) -> str:
        return f"export of {self.user_id} ({self.status})"
