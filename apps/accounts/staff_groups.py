"""Staff groups kept in code and synced after every ``migrate`` (and test-database flush).

A group defined here gets exactly the listed permissions — added ones appear, removed ones go —
so what a moderator may do is reviewed in one place. Permissions are named by app label and
codename, so this module imports no other app; permissions of apps that are not installed (the
notifications deployment runs without ratings) are skipped.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

STAFF_GROUPS: dict[str, list[tuple[str, str]]] = {
    # Only what moderation needs: see and decide ratings and reports (decisions go through the
    # ratings services, see apps/ratings/admin/), read the history, replies, invitations and
    # summaries. Nothing on users, API keys or delivery providers.
    "moderators": [
        ("ratings", "view_rating"),
        ("ratings", "change_rating"),
        ("ratings", "view_ratingreport"),
        ("ratings", "change_ratingreport"),
        ("ratings", "view_moderationdecision"),
        ("ratings", "view_ratingreply"),
        # Publish and hide replies (the reply_moderate actions; every field is read-only).
        ("ratings", "change_ratingreply"),
        ("ratings", "view_ratingrevision"),
        ("ratings", "view_ratinginvitation"),
        ("ratings", "view_ratingsummary"),
        # The delivery log of every notice, and the replay of dead deliveries (a "change";
        # every delivery field is read-only in the admin).
        ("notifications", "view_notification"),
        ("notifications", "view_delivery"),
        ("notifications", "change_delivery"),
        ("notifications", "view_deliveryattempt"),
        ("core", "view_outboxevent"),
    ],
}


def staff_groups_sync(*, using: str = "default") -> None:
    """Create every group in ``STAFF_GROUPS`` and set its permissions to exactly the listed ones."""
    for name, wanted in STAFF_GROUPS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        match = Q(pk__in=[])
        for app_label, codename in wanted:
            match |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.using(using).filter(match))


def sync_after_migrate(sender, using: str = "default", **kwargs) -> None:
    # post_migrate fires once per app; permissions of later apps exist only after theirs ran,
    # so the sync runs every time (a handful of queries) and the last run sees them all.
    staff_groups_sync(using=using)
