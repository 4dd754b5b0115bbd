from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from apps.accounts.models import User
from apps.accounts.services import user_deactivate


def inbox_links(user_id) -> str:
    """Links to the user's inbox items and deliveries in the notifications admin.

    Plain filtered URLs, without counts: the notifications tables may live in a database of
    their own (config/routers.py), so the page of a user never queries them.
    """
    if user_id is None:
        return "—"
    try:
        notifications = reverse("admin:notifications_notification_changelist")
        deliveries = reverse("admin:notifications_delivery_changelist")
    except NoReverseMatch:  # a deployment without the notifications admin
        return "—"
    return format_html(
        '<a href="{}?recipient_id={}">inbox items</a> · <a href="{}?recipient_id={}">deliveries</a>',
        notifications,
        user_id,
        deliveries,
        user_id,
    )


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    list_display = ("email", "name", "role_list", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    ordering = ("email",)
    readonly_fields = ("id", "notifications", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("id", "email", "password", "notifications")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_deactivate(user=obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "provider")

    @admin.display(description="Notifications")
    def notifications(self, obj: User) -> str:
        return inbox_links(obj.pk)

    @admin.display(description="Roles")
    def role_list(self, obj: User) -> str:
        return ", ".join(obj.roles) or "—"
