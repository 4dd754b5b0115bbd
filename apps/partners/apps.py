from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "apps.partners"
    label = "partners"
    verbose_name = "Partner API"

    def ready(self) -> None:
        from apps.partners import receivers

        receivers.connect()
