from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    """Invitations a rating already used are marked used when that rating was made."""
    RatingInvitation = apps.get_model("ratings", "RatingInvitation")
    Rating = apps.get_model("ratings", "Rating")
    used = Rating.objects.filter(invitation=OuterRef("pk")).values("created_at")[:1]
    RatingInvitation.objects.filter(rating__isnull=False).update(used_at=Subquery(used))


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0002_moderation_reports_replies_invitations"),
    ]

    # Only nullable columns, so the previous release keeps inserting invitations while it runs;
    # the backfill comes last: PostgreSQL refuses to ALTER a table in the transaction that left
    # deferred foreign-key checks pending on its rows.
    operations = [
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
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
