"""Admin behaviour shared by every app's ModelAdmins (imports no domain app)."""

from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied


class ReadOnlyPageMixin:
    """A change page with nothing to edit shows "Close", not Save buttons, and refuses a save POST.

    Django offers the Save buttons whenever the user holds the change permission, which a
    moderator needs for the list's actions and the page's own buttons (moderation decisions,
    replays) even where every field is read-only; a Save there would only bump ``updated_at``
    and log a change that changed nothing.
    """

    def page_is_editable(self, request, obj=None) -> bool:
        if obj is not None and not self.has_change_permission(request, obj):
            return False
        fields = set(flatten_fieldsets(self.get_fieldsets(request, obj)))
        if fields - set(self.get_readonly_fields(request, obj)):
            return True
        for inline in self.get_inline_instances(request, obj):
            if inline.has_add_permission(request, obj):
                return True
            if inline.can_delete and inline.has_delete_permission(request, obj):
                return True
            inline_fields = set(flatten_fieldsets(inline.get_fieldsets(request, obj)))
            if inline.has_change_permission(request, obj) and inline_fields - set(
                inline.get_readonly_fields(request, obj)
            ):
                return True
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None and request.method == "POST":
            obj = self.get_object(request, object_id)
            if obj is not None and not self.page_is_editable(request, obj):
                raise PermissionDenied
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None and not self.page_is_editable(request, obj):
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)
