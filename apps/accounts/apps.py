from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.accounts.exports import DATA_EXPORTS_PURGE
        from apps.accounts.staff_groups import sync_after_migrate
        from apps.core.retention import register_purge

        post_migrate.connect(sync_after_migrate, dispatch_uid="accounts.staff_groups_sync")
        register_purge(DATA_EXPORTS_PURGE)
