from django.contrib import admin, messages

from apps.notifications.models import Delivery, DeliveryStatus, Notification, NotificationPreference
from apps.notifications.services import deliveries_replay


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "type", "recipient_id", "created_at", "read_at")
    list_filter = ("type", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=recipient_id", "=event_id", "title")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("id", "recipient_id", "type", "event_id", "data", "created_at")
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "status", "address", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "channel")
    search_fields = ("=id", "=event_id", "=recipient_id", "address", "last_error")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    # Replaying is a change: view-only staff see the log but cannot resend.
    @admin.action(description="Replay selected dead deliveries", permissions=["change"])
    def replay(self, request, queryset):
        replayed = deliveries_replay(
            delivery_ids=queryset.filter(status=DeliveryStatus.DEAD).values_list("pk", flat=True)
        )
        self.message_user(request, f"{replayed} dead deliveries queued again.", messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("recipient_id", "event_type", "channel", "enabled", "updated_at")
    list_filter = ("event_type", "channel", "enabled")
    search_fields = ("=recipient_id",)
