from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def backfill(apps, schema_editor):
    """Invitations made before expiry existed get the deadline they would have had; those a
    rating already used are marked used when that rating was made."""
    RatingInvitation = apps.get_model("ratings", "RatingInvitation")
    Rating = apps.get_model("ratings", "Rating")
    RatingInvitation.objects.update(expires_at=F("created_at") + timedelta(seconds=settings.RATING_INVITATION_TTL))
    used = Rating.objects.filter(invitation=OuterRef("pk")).values("created_at")[:1]
    RatingInvitation.objects.filter(rating__isnull=False).update(used_at=Subquery(used))


class Migration(migrations.Migration):
    # PostgreSQL refuses to ALTER a table with pending (deferred foreign key) trigger events in
    # the transaction that updated its rows, so the backfill commits on its own (RunPython is
    # atomic by itself) before the column becomes NOT NULL.
    atomic = False

    dependencies = [
        ("ratings", "0002_moderation_reports_replies_invitations"),
    ]

    operations = [
        migrations.AddField(
            model_name="ratinginvitation",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="ratinginvitation",
            name="used_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ratinginvitation",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="ratinginvitation",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AddConstraint(
            model_name="ratinginvitation",
            constraint=models.CheckConstraint(
                condition=models.Q(("used_at__isnull", True), ("revoked_at__isnull", True), _connector="OR"),
                name="ratings_invitation_not_used_and_revoked",
            ),
        ),
        migrations.AddIndex(
            model_name="ratinginvitation",
            index=models.Index(fields=["partner_key", "-created_at", "-id"], name="ratings_invitation_partner_idx"),
        ),
        migrations.AddIndex(
            model_name="ratinginvitation",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", True), ("used_at__isnull", True)),
                fields=["customer", "-created_at", "-id"],
                name="ratings_invitation_open_idx",
            ),
        ),
    ]
