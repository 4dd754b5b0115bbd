from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "apps.providers"
    label = "providers"
    verbose_name = "Providers"

    def ready(self) -> None:
        from apps.core.exports import register_exporter

        # The provider profile, in a user's data export (POST /api/v1/accounts/me/export/).
        register_exporter("provider", _provider_export)


def _provider_export(user) -> dict | None:
    from apps.providers.models import Provider

    provider = Provider.objects.filter(user=user).prefetch_related("services").first()
    if provider is None:
        return None
    return {
        "id": str(provider.pk),
        "name": provider.name,
        "description": provider.description,
        "services": sorted(service.slug for service in provider.services.all()),
        "created_at": provider.created_at.isoformat(),
        "deleted_at": provider.deleted_at.isoformat() if provider.deleted_at else None,
    }
