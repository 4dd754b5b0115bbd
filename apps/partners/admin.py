"""Staff manage partners here: keys (shown once, rotated with a grace period, revoked), their use,
and the existing providers a partner may act for."""

from django.conf import settings
from django.contrib import admin, messages
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from apps.partners.keys import partner_key_revoke, partner_key_rotate
from apps.partners.models import Partner, PartnerKey, PartnerProvider

# Partners authenticate with PartnerKey only; the library's generic key model stays unused.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class PartnerProviderInline(admin.TabularInline):
    model = PartnerProvider
    extra = 0
    autocomplete_fields = ("provider",)
    fields = ("provider", "granted", "created_at")
    readonly_fields = ("created_at",)
    verbose_name = "provider this partner may act for"
    verbose_name_plural = "providers (created by the partner, or granted: add one here to grant it)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # A provider added here by staff is a grant.
        formset.form.base_fields["granted"].initial = True
        return formset


class PartnerKeyInline(admin.TabularInline):
    model = PartnerKey
    extra = 0
    fields = ("prefix", "name", "scopes", "created", "expiry_date", "revoked", "last_used_at", "request_count")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "created_at")
    search_fields = ("name",)
    inlines = [PartnerKeyInline, PartnerProviderInline]


@admin.register(PartnerKey)
class PartnerKeyAdmin(APIKeyModelAdmin):
    """A new key's secret is shown once, in the message after saving; only its hash is stored.
    Use (last used, request count) is flushed from Redis counters every
    ``PARTNER_KEY_USAGE_FLUSH_INTERVAL`` seconds."""

    list_display = (
        "prefix",
        "name",
        "partner",
        "scopes",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
        "last_used_at",
        "request_count",
    )
    list_filter = ("partner", "revoked", "created")
    list_select_related = ("partner",)
    search_fields = ("name", "prefix", "partner__name")
    autocomplete_fields = ("partner",)
    actions = ["rotate", "revoke"]

    def get_readonly_fields(self, request, obj=None):
        fields = (*super().get_readonly_fields(request, obj), "last_used_at", "request_count", "rotated_from")
        return (*fields, "partner") if obj is not None else fields

    @admin.action(description="Rotate: issue a successor; the old secret works for the grace period")
    def rotate(self, request, queryset):
        for key in queryset.filter(revoked=False):
            new, secret = partner_key_rotate(key=key)
            self.message_user(
                request,
                f"The new key for {new.partner} ({new.name}) is: {secret} — store it now, it is not shown again. "
                f"The old key {key.prefix} works for {settings.PARTNER_KEY_ROTATION_GRACE} more seconds.",
                messages.WARNING,
            )

    @admin.action(description="Revoke: the key stops at once")
    def revoke(self, request, queryset):
        for key in queryset:
            partner_key_revoke(key=key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)
