from django.contrib import admin

from apps.ratings.models import Rating, RatingSummary


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("id", "provider", "customer_name", "score", "status", "verified", "created_at")
    list_filter = ("status", "score", "verified", "created_at")
    search_fields = ("comment", "provider__name", "customer__user__email", "customer__user__name", "id")
    list_select_related = ("provider", "customer__user")
    raw_id_fields = ("customer", "provider")
    readonly_fields = ("id", "customer", "provider", "score", "comment", "verified", "created_at", "updated_at")
    date_hierarchy = "created_at"

    @admin.display(description="Customer", ordering="customer__user__name")
    def customer_name(self, obj: Rating) -> str:
        return obj.customer.user.name

    def has_add_permission(self, request) -> bool:
        # Ratings are written only through the services, which keep summaries exact.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RatingSummary)
class RatingSummaryAdmin(admin.ModelAdmin):
    list_display = ("provider", "count", "average", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5", "updated_at")
    search_fields = ("provider__name", "provider__user__email", "provider__id")
    list_select_related = ("provider",)
    ordering = ("-count",)
    readonly_fields = [f.name for f in RatingSummary._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
