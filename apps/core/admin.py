from django.contrib import admin

from apps.core.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "created_at", "attempts", "dispatched_at", "confirmed_at", "last_error")
    list_filter = ("type", ("dispatched_at", admin.EmptyFieldListFilter), ("confirmed_at", admin.EmptyFieldListFilter))
    search_fields = ("id", "type", "last_error")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False
