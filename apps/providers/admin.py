from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.admin import inbox_links
from apps.providers.models import Provider, ServiceCategory


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "service_list", "rating_links", "created_at")
    list_filter = ("services", "created_at", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__email", "description", "id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    filter_horizontal = ("services",)
    # Deletion is the provider's own act (DELETE providers/me/); staff cannot undo or fake it here.
    readonly_fields = ("id", "rating_links", "notifications", "created_at", "updated_at", "deleted_at")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj: Provider) -> str:
        return obj.user.email

    @admin.display(description="Services")
    def service_list(self, obj: Provider) -> str:
        return ", ".join(s.name for s in obj.services.all()) or "—"

    @admin.display(description="Ratings")
    def rating_links(self, obj: Provider) -> str:
        # Linked by admin URL name, so this app needs no import of the ratings app.
        ratings = reverse("admin:ratings_rating_changelist") + f"?provider__id__exact={obj.pk}"
        summary = reverse("admin:ratings_ratingsummary_changelist") + f"?provider__id__exact={obj.pk}"
        return format_html('<a href="{}">ratings</a> · <a href="{}">summary</a>', ratings, summary)

    @admin.display(description="Notifications")
    def notifications(self, obj: Provider) -> str:
        return inbox_links(obj.user_id)
