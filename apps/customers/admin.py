from django.contrib import admin

from apps.accounts.admin import inbox_links
from apps.customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "created_at")
    search_fields = ("user__email", "user__name", "id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("id", "notifications", "created_at", "updated_at")
    date_hierarchy = "created_at"

    @admin.display(description="Notifications")
    def notifications(self, obj: Customer) -> str:
        return inbox_links(obj.user_id)
