"""What the ratings admin pages share: the read-only tables, the rating link and the reason forms."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.core.exceptions import ApplicationError
from apps.ratings.models import (
    Rating,
    RatingReply,
    RatingStatus,
)
from apps.ratings.services import rating_moderate, reply_moderate


@admin.display(description="Rating", ordering="rating__created_at")
def rating_link(obj) -> str:
    """The rating a report, reply or decision belongs to, by title, linked to its page (and its decision buttons)."""
    return format_html('<a href="{}">{}</a>', reverse("admin:ratings_rating_change", args=[obj.rating_id]), obj.rating)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ModerationReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


REASON_REQUIRED = "Say why the rating is hidden: the author and the provider are told."


class ModerationDecisionForm(forms.Form):
    """The decision buttons of one rating's page: hiding needs a reason, publishing may give one."""

    to_status = forms.ChoiceField(choices=[(RatingStatus.PUBLISHED, "Publish"), (RatingStatus.HIDDEN, "Hide")])
    reason = forms.CharField(max_length=500, required=False, strip=True)

    def clean(self):
        cleaned = super().clean()
        hiding = cleaned.get("to_status") == RatingStatus.HIDDEN
        if hiding and not cleaned.get("reason") and "reason" not in self.errors:
            self.add_error("reason", REASON_REQUIRED)
        return cleaned


def _moderate_with_reason(modeladmin, request, queryset, *, to_status: str, verb: str, moderate, noun: str):
    """An intermediate page asks for the reason, then each object goes through ``moderate``
    (``rating_moderate`` or ``reply_moderate``)."""
    if "apply" in request.POST:
        form = ModerationReasonForm(request.POST)
        if form.is_valid():
            done = skipped = 0
            for obj in queryset:
                try:
                    moderate(obj, to_status=to_status, reason=form.cleaned_data["reason"], moderator=request.user)
                    done += 1
                except ApplicationError:
                    skipped += 1
            past = "hidden" if to_status == RatingStatus.HIDDEN else "published"
            modeladmin.message_user(request, f"{done} {noun}(s) {past}.", messages.SUCCESS)
            if skipped:
                modeladmin.message_user(request, f"Skipped {skipped} already {to_status}.", messages.WARNING)
            return None
    else:
        form = ModerationReasonForm()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{verb.capitalize()} {noun}s",
        "verb": verb,
        "noun": noun,
        "objects": queryset,
        "form": form,
        "action": request.POST["action"],
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/ratings/moderation_reason.html", context)


def _rating_moderate(rating: Rating, **kwargs) -> None:
    rating_moderate(rating=rating, **kwargs)


def _reply_moderate(reply: RatingReply, **kwargs) -> None:
    reply_moderate(reply=reply, **kwargs)


class ReadOnlyAdmin(admin.ModelAdmin):
    # The list's relations serve the change page too (its title and read-only links name them).
    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
