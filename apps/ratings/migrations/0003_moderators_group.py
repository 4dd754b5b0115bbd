from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "moderators"
# Only what moderation needs: see and decide ratings and reports (decisions go through the
# services, see admin.py), read the history, replies, invitations and summaries. Nothing on
# users, keys or other apps.
PERMISSIONS = [
    ("ratings", "view_rating"),
    ("ratings", "change_rating"),
    ("ratings", "view_ratingreport"),
    ("ratings", "change_ratingreport"),
    ("ratings", "view_moderationdecision"),
    ("ratings", "view_ratingreply"),
    ("ratings", "view_ratinginvitation"),
    ("ratings", "view_ratingsummary"),
]


def create_moderators_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make them exist now.
    ratings_config = apps.get_app_config("ratings")
    ratings_config.models_module = True
    create_permissions(ratings_config, verbosity=0, apps=apps)
    ratings_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def delete_moderators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("ratings", "0002_moderation_reports_replies_invitations"),
    ]

    operations = [migrations.RunPython(create_moderators_group, delete_moderators_group)]
