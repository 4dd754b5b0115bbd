from django.contrib import admin, messages
from django.db.models import Q

from apps.core.admin_mixins import ReadOnlyPageMixin
from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_events_replay

# An event's state follows from its timestamps; confirmed wins over everything else.
STATES = {
    "pending": Q(confirmed_at__isnull=True, dead_at__isnull=True, dispatched_at__isnull=True),
    "dispatched": Q(confirmed_at__isnull=True, dead_at__isnull=True, dispatched_at__isnull=False),
    "confirmed": Q(confirmed_at__isnull=False),
    "dead": Q(confirmed_at__isnull=True, dead_at__isnull=False),
}


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(state, state.capitalize()) for state in STATES]

    def queryset(self, request, queryset):
        if self.value() in STATES:
            return queryset.filter(STATES[self.value()])
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    list_display = ("id", "type", "state", "created_at", "attempts", "dispatched_at", "confirmed_at", "last_error")
    list_filter = (OutboxStateFilter, "type")
    search_fields = ("id", "type", "=request_id", "last_error")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="state")
    def state(self, obj: OutboxEvent) -> str:
        if obj.confirmed_at:
            return "confirmed"
        if obj.dead_at:
            return "dead"
        return "dispatched" if obj.dispatched_at else "pending"

    # Replaying is a change: view-only staff (moderators) see the outbox but cannot resend.
    @admin.action(description="Replay selected dead events", permissions=["change"])
    def replay(self, request, queryset):
        replayed = outbox_events_replay(event_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{replayed} dead events queued again.", messages.SUCCESS)
