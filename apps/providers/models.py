from django.conf import settings
from django.db import models

from apps.core.models import TimeStampedModel
from apps.core.validators import single_line_text


class ServiceCategory(TimeStampedModel):
    """A kind of service a provider offers (plumbing, tutoring…), managed by staff in admin."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "service categories"

    def __str__(self) -> str:
        return self.name


class Provider(TimeStampedModel):
    """The profile of a user who offers services and receives ratings."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider")
    name = models.CharField(max_length=150, db_index=True, validators=[single_line_text])
    description = models.TextField(blank=True, max_length=5000)
    services = models.ManyToManyField(ServiceCategory, blank=True, related_name="providers")
    # Set when the provider deleted its account: the row stays for the ratings that point at it
    # (they and the summary are kept), but the profile is erased and no longer listed or rated.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The directory's orderings by creation (the default) and by name, with the id as
            # the keyset cursor's tie-breaker, in either direction.
            models.Index(fields=["created_at", "id"], name="providers_created_id_idx"),
            models.Index(fields=["name", "id"], name="providers_name_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name
