"""Staff moderation in the admin. Every status change goes through ``rating_moderate``; no admin
form can write a rating's status, score or comment."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, F, Q
from django.template.response import TemplateResponse
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from apps.core.exceptions import ApplicationError
from apps.ratings.models import (
    ModerationDecision,
    PartnerAPIKey,
    Rating,
    RatingInvitation,
    RatingReply,
    RatingReport,
    RatingStatus,
    RatingSummary,
    ReportStatus,
)
from apps.ratings.services import rating_moderate, report_resolve


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


class RatingReportInline(ReadOnlyInline):
    model = RatingReport
    fk_name = "rating"
    fields = ("reporter", "reason", "details", "status", "resolved_by", "resolved_at", "created_at")


class RatingReplyInline(ReadOnlyInline):
    model = RatingReply
    fields = ("body", "created_at", "updated_at")


class ModerationDecisionInline(ReadOnlyInline):
    model = ModerationDecision
    fields = ("created_at", "moderator", "from_status", "to_status", "reason")
    verbose_name_plural = "moderation history"


class ReportedFilter(admin.SimpleListFilter):
    title = "reported"
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("yes", "Has open reports"), ("no", "No open reports")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(open_report_count__gt=0)
        if self.value() == "no":
            return queryset.filter(open_report_count=0)
        return queryset


class ModerationReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


def _moderate_with_reason(modeladmin, request, queryset, *, to_status: str, verb: str):
    """An intermediate page asks for the reason, then each rating goes through ``rating_moderate``."""
    if "apply" in request.POST:
        form = ModerationReasonForm(request.POST)
        if form.is_valid():
            done = skipped = 0
            for rating in queryset:
                try:
                    rating_moderate(
                        rating=rating, to_status=to_status, reason=form.cleaned_data["reason"], moderator=request.user
                    )
                    done += 1
                except ApplicationError:
                    skipped += 1
            past = "hidden" if to_status == RatingStatus.HIDDEN else "published"
            modeladmin.message_user(request, f"{done} rating(s) {past}.", messages.SUCCESS)
            if skipped:
                modeladmin.message_user(request, f"Skipped {skipped} already {to_status}.", messages.WARNING)
            return None
    else:
        form = ModerationReasonForm()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{verb.capitalize()} ratings",
        "verb": verb,
        "ratings": queryset,
        "form": form,
        "action": request.POST["action"],
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/ratings/moderation_reason.html", context)


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    """The moderation queue."""

    list_display = (
        "id",
        "provider",
        "customer_name",
        "score",
        "status",
        "verified",
        "open_reports",
        "short_comment",
        "created_at",
    )
    list_filter = ("status", ReportedFilter, "score", "verified", ("provider", admin.RelatedOnlyFieldListFilter))
    search_fields = ("comment", "provider__name", "customer__user__email", "customer__user__name", "=id")
    list_select_related = ("provider", "customer__user")
    readonly_fields = (
        "id",
        "customer",
        "provider",
        "score",
        "comment",
        "status",
        "moderation_reason",
        "verified",
        "invitation",
        "first_published_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (RatingReportInline, RatingReplyInline, ModerationDecisionInline)
    actions = ("publish_selected", "hide_selected", "dismiss_open_reports")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(open_report_count=Count("reports", filter=Q(reports__status=ReportStatus.OPEN)))
        )

    @admin.display(description="Customer", ordering="customer__user__name")
    def customer_name(self, obj: Rating) -> str:
        return obj.customer.user.name

    @admin.display(description="Open reports", ordering="open_report_count")
    def open_reports(self, obj: Rating) -> int:
        return obj.open_report_count

    @admin.display(description="Comment")
    def short_comment(self, obj: Rating) -> str:
        return obj.comment[:80]

    @admin.action(description="Publish selected ratings…", permissions=["change"])
    def publish_selected(self, request, queryset):
        return _moderate_with_reason(self, request, queryset, to_status=RatingStatus.PUBLISHED, verb="publish")

    @admin.action(description="Hide selected ratings…", permissions=["change"])
    def hide_selected(self, request, queryset):
        return _moderate_with_reason(self, request, queryset, to_status=RatingStatus.HIDDEN, verb="hide")

    @admin.action(description="Dismiss open reports (keep ratings as they are)", permissions=["change"])
    def dismiss_open_reports(self, request, queryset):
        reports = RatingReport.objects.filter(rating__in=queryset, status=ReportStatus.OPEN)
        count = 0
        for report in reports:
            report_resolve(report=report, upheld=False, moderator=request.user)
            count += 1
        self.message_user(request, f"Dismissed {count} report(s).", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        # Ratings are written only through the services, which keep summaries exact.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MostlyDismissedFilter(admin.SimpleListFilter):
    """Reporters more of whose reports were dismissed than upheld: their new reports weigh less."""

    title = "reporter track record"
    parameter_name = "reporter_record"

    def lookups(self, request, model_admin):
        return [("mostly_dismissed", "Mostly dismissed")]

    def queryset(self, request, queryset):
        if self.value() == "mostly_dismissed":
            return queryset.filter(reporter_dismissed_count__gt=F("reporter_upheld_count"))
        return queryset


@admin.register(RatingReport)
class RatingReportAdmin(admin.ModelAdmin):
    list_display = (
        "rating",
        "reason",
        "status",
        "reporter",
        "reporter_upheld",
        "reporter_dismissed",
        "created_at",
    )
    list_filter = ("status", "reason", MostlyDismissedFilter, "created_at")
    search_fields = ("reporter__email", "details", "=rating__id")
    list_select_related = ("rating", "reporter")
    readonly_fields = ("id", "rating", "reporter", "reason", "details", "status", "resolved_by", "resolved_at")
    fields = readonly_fields
    actions = ("uphold_selected", "dismiss_selected")

    def get_queryset(self, request):
        reports = "reporter__rating_reports"
        return (
            super()
            .get_queryset(request)
            .annotate(
                reporter_upheld_count=Count(
                    reports, filter=Q(**{f"{reports}__status": ReportStatus.UPHELD}), distinct=True
                ),
                reporter_dismissed_count=Count(
                    reports, filter=Q(**{f"{reports}__status": ReportStatus.DISMISSED}), distinct=True
                ),
            )
        )

    @admin.display(description="Reporter upheld", ordering="reporter_upheld_count")
    def reporter_upheld(self, obj) -> int:
        return obj.reporter_upheld_count

    @admin.display(description="Reporter dismissed", ordering="reporter_dismissed_count")
    def reporter_dismissed(self, obj) -> int:
        return obj.reporter_dismissed_count

    def _resolve(self, request, queryset, *, upheld: bool):
        count = 0
        for report in queryset.filter(status=ReportStatus.OPEN):
            report_resolve(report=report, upheld=upheld, moderator=request.user)
            count += 1
        self.message_user(request, f"{'Upheld' if upheld else 'Dismissed'} {count} report(s).", messages.SUCCESS)

    @admin.action(description="Uphold selected reports (hide their ratings)", permissions=["change"])
    def uphold_selected(self, request, queryset):
        self._resolve(request, queryset, upheld=True)

    @admin.action(description="Dismiss selected reports", permissions=["change"])
    def dismiss_selected(self, request, queryset):
        self._resolve(request, queryset, upheld=False)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rating", "moderator", "from_status", "to_status", "reason")
    list_filter = ("to_status", "from_status", "created_at")
    search_fields = ("reason", "moderator__email", "=rating__id")
    list_select_related = ("rating", "moderator")
    date_hierarchy = "created_at"


@admin.register(RatingReply)
class RatingReplyAdmin(ReadOnlyAdmin):
    list_display = ("rating", "short_body", "created_at", "updated_at")
    search_fields = ("body", "=rating__id")
    list_select_related = ("rating",)

    @admin.display(description="Body")
    def short_body(self, obj: RatingReply) -> str:
        return obj.body[:80]


@admin.register(RatingInvitation)
class RatingInvitationAdmin(ReadOnlyAdmin):
    list_display = (
        "external_reference",
        "provider",
        "customer",
        "partner_key",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
    )
    list_filter = (("used_at", admin.EmptyFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("external_reference", "provider__name", "customer__user__email")
    list_select_related = ("provider", "customer__user", "partner_key")


# Partners authenticate with PartnerAPIKey only; the library's generic key model stays unused.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    """Staff issue a key here; it is shown once, only its hash is stored."""


@admin.register(RatingSummary)
class RatingSummaryAdmin(ReadOnlyAdmin):
    list_display = (
        "provider",
        "count",
        "average",
        "verified_count",
        "stars_1",
        "stars_2",
        "stars_3",
        "stars_4",
        "stars_5",
        "updated_at",
    )
    search_fields = ("provider__name", "provider__user__email", "=provider__id")
    list_select_related = ("provider",)
    ordering = ("-count",)
    readonly_fields = [f.name for f in RatingSummary._meta.fields]
