from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "apps.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from apps.core.exports import register_exporter

        # The customer profile, in a user's data export (POST /api/v1/accounts/me/export/).
        register_exporter("customer", _customer_export)


def _customer_export(user) -> dict | None:
    from apps.customers.models import Customer

    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        return None
    return {"id": str(customer.pk), "created_at": customer.created_at.isoformat()}
