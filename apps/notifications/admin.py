from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin_mixins import ReadOnlyPageMixin
from apps.notifications.delivery.channels.email.channel import EMAIL_URL_BREAKER
from apps.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryProvider,
    DeliveryStatus,
    Device,
    Digest,
    DigestItem,
    Notification,
    NotificationPreference,
    NotificationSchedule,
    WebhookEndpoint,
)
from apps.notifications.outbound import breakers
from apps.notifications.services import deliveries_replay


def _breaker_state(key: str) -> str:
    try:
        return breakers.breaker_for(key).current_state
    except Exception:  # noqa: BLE001 - a status column must not break the page
        return "unknown"


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "target",
        "provider",
        "outcome",
        "status_code",
        "error",
        "response_excerpt",
        "duration_ms",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RecipientFilter(admin.SimpleListFilter):
    """One user's rows: the target of the links on the user, customer and provider pages.

    Recipients are bare ids here (this app may have its own database), so the filter shows the
    id it was given and never looks the user up.
    """

    title = "recipient"
    parameter_name = "recipient_id"

    def lookups(self, request, model_admin):
        return [(self.value(), self.value())] if self.value() else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            recipient_id = UUID(self.value())
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset.filter(recipient_id=recipient_id)


def _recipient_link(changelist: str, recipient_id) -> str:
    url = reverse(f"admin:notifications_{changelist}_changelist") + f"?recipient_id={recipient_id}"
    return format_html('<a href="{}" title="Everything sent to this user">{}</a>', url, recipient_id)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    list_display = ("title", "type", "recipient", "created_at", "read_at")
    list_filter = (RecipientFilter, "type", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=recipient_id", "=event_id", "title")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("id", "recipient_id", "type", "event_id", "data", "created_at")
    inlines = [DeliveryInline]

    @admin.display(description="Recipient", ordering="recipient_id")
    def recipient(self, obj: Notification) -> str:
        return _recipient_link("notification", obj.recipient_id)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "notification",
        "status",
        "provider",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "recipient",
    )
    list_filter = (RecipientFilter, "status", "channel")
    # Both nullable, so Django's automatic select_related() would not follow them.
    list_select_related = ("notification", "provider")
    search_fields = ("=id", "=event_id", "=recipient_id", "=request_id", "address", "last_error")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    def get_queryset(self, request):
        # The change page's title and read-only links name the notice and the provider too.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="Recipient", ordering="recipient_id")
    def recipient(self, obj: Delivery) -> str:
        return _recipient_link("delivery", obj.recipient_id)

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


@admin.register(NotificationSchedule)
class NotificationScheduleAdmin(admin.ModelAdmin):
    """Read-only: users choose through the API, which validates the time zone and quiet hours."""

    list_display = ("recipient_id", "time_zone", "rating_emails", "quiet_start", "quiet_end", "updated_at")
    list_filter = ("rating_emails",)
    search_fields = ("=recipient_id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    extra = 0
    can_delete = False
    fields = ("occurred_at", "event_id", "email", "data")
    readonly_fields = fields
    ordering = ("occurred_at",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    """Read-only: a digest's email is its delivery (event id = the digest's id)."""

    list_display = ("recipient_id", "frequency", "time_zone", "period_start", "period_end", "closed_at")
    list_filter = ("frequency", ("closed_at", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=recipient_id")
    date_hierarchy = "period_start"
    ordering = ("-period_start",)
    inlines = [DigestItemInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryProviderForm(forms.ModelForm):
    # Write-only: the stored credentials are never rendered back into the page.
    new_credentials = forms.JSONField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text='JSON, e.g. {"token": "…"} (http_push) or {"username": "…", "password": "…"} (smtp). '
        "Leave empty to keep the stored credentials.",
    )

    class Meta:
        model = DeliveryProvider
        fields = ("channel", "name", "kind", "endpoint", "priority", "enabled")


@admin.register(DeliveryProvider)
class DeliveryProviderAdmin(admin.ModelAdmin):
    form = DeliveryProviderForm
    list_display = ("name", "channel", "kind", "priority", "enabled", "breaker_state")
    list_filter = ("channel", "kind", "enabled")
    ordering = ("channel", "priority", "name")

    @admin.display(description="Circuit breaker")
    def breaker_state(self, obj):
        return _breaker_state(breakers.provider_key(obj.pk))

    def changelist_view(self, request, extra_context=None):
        # The EMAIL_URL relay has no row here, but an operator looks for a relay's breaker here.
        in_use = not DeliveryProvider.objects.filter(
            channel=Channel.EMAIL, kind=DeliveryProvider.Kind.SMTP, enabled=True
        ).exists()
        relay = {"breaker": _breaker_state(EMAIL_URL_BREAKER), "in_use": in_use}
        return super().changelist_view(request, {**(extra_context or {}), "email_url_relay": relay})

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("new_credentials") is not None:
            obj.credentials = form.cleaned_data["new_credentials"]
        super().save_model(request, obj, form, change)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = (
        "url",
        "recipient_id",
        "enabled",
        "disabled_reason",
        "failing_since",
        "endpoint_breaker",
        "origin_breaker",
        "created_at",
    )
    list_filter = ("enabled",)
    search_fields = ("=id", "=recipient_id", "url")
    # Custom header values are often the receiver's credentials (an API key): like the secret,
    # never shown; their names are. They are changed by their owner, through the API's checks.
    exclude = ("secret", "previous_secret", "headers")
    # A URL typed without a scheme is https (webhooks are https only in production).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = (
        "recipient_id",
        "custom_header_names",
        "previous_secret_expires_at",
        "failing_since",
        "created_at",
    )

    @admin.display(description="Custom headers")
    def custom_header_names(self, obj):
        return ", ".join(sorted(obj.headers or {})) or "-"

    @admin.display(description="Endpoint breaker")
    def endpoint_breaker(self, obj):
        return _breaker_state(breakers.endpoint_key(obj.pk))

    @admin.display(description="Origin breaker")
    def origin_breaker(self, obj):
        return _breaker_state(breakers.origin_key(obj.url))


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("id", "recipient_id", "platform", "created_at")
    list_filter = ("platform",)
    search_fields = ("=id", "=recipient_id")
    exclude = ("token",)
