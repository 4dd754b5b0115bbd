"""The admin of what hangs off ratings: reports, replies, votes, decisions, invitations, summaries."""

from django.contrib import admin, messages
from django.db.models import Count, F, Q

from apps.core.admin_mixins import ReadOnlyPageMixin
from apps.ratings.admin.common import (
    ReadOnlyAdmin,
    _moderate_with_reason,
    _reply_moderate,
    rating_link,
)
from apps.ratings.models import (
    ModerationDecision,
    RatingHelpfulVote,
    RatingInvitation,
    RatingReply,
    RatingReport,
    RatingStatus,
    RatingSummary,
    ReportStatus,
    rating_title_related,
)
from apps.ratings.selectors import (
    UNUSUAL_VOTES_WINDOW,
    helpful_votes_unusual,
)
from apps.ratings.services import report_resolve


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
class RatingReportAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    list_display = (
        "reason",
        rating_link,
        "status",
        "reporter",
        "reporter_upheld",
        "reporter_dismissed",
        "created_at",
    )
    list_display_links = ("reason",)
    list_filter = ("status", "reason", MostlyDismissedFilter, "created_at")
    search_fields = ("reporter__email", "details", "=rating__id")
    list_select_related = (*rating_title_related("rating__"), "reporter", "resolved_by")
    readonly_fields = ("id", "rating", "reporter", "reason", "details", "status", "resolved_by", "resolved_at")
    fields = readonly_fields
    actions = ("uphold_selected", "dismiss_selected")

    def get_queryset(self, request):
        reports = "reporter__rating_reports"
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
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


class NewAccountVoteFilter(admin.SimpleListFilter):
    title = "voter"
    parameter_name = "voter"

    def lookups(self, request, model_admin):
        return [("new", f"New accounts, last {int(UNUSUAL_VOTES_WINDOW.total_seconds() // 3600)} h")]

    def queryset(self, request, queryset):
        if self.value() == "new":
            return queryset.filter(pk__in=helpful_votes_unusual().values("pk"))
        return queryset


@admin.register(RatingHelpfulVote)
class RatingHelpfulVoteAdmin(ReadOnlyAdmin):
    """Who voted what helpful, and when; the new accounts' recent votes on their own."""

    list_display = ("created_at", rating_link, "user", "voter_joined")
    list_filter = (NewAccountVoteFilter, "created_at")
    search_fields = ("user__email", "=rating__id")
    list_select_related = (*rating_title_related("rating__"), "user")
    date_hierarchy = "created_at"

    @admin.display(description="voter joined", ordering="user__date_joined")
    def voter_joined(self, obj):
        return obj.user.date_joined


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", rating_link, "moderator", "from_status", "to_status", "reason")
    list_filter = ("to_status", "from_status", "created_at")
    search_fields = ("reason", "moderator__email", "=rating__id")
    list_select_related = (*rating_title_related("rating__"), "moderator")
    date_hierarchy = "created_at"


@admin.register(RatingReply)
class RatingReplyAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    """The reply moderation queue: read-only, changed only by the publish/hide actions."""

    list_display = ("short_body", rating_link, "status", "moderation_reason", "created_at", "updated_at")
    list_filter = ("status", "created_at")
    search_fields = ("body", "=rating__id")
    list_select_related = rating_title_related("rating__")
    readonly_fields = ("id", "rating", "body", "status", "moderation_reason", "first_published_at", "created_at")
    fields = readonly_fields
    actions = ("publish_selected", "hide_selected")

    @admin.display(description="Body")
    def short_body(self, obj: RatingReply) -> str:
        return obj.body[:80]

    @admin.action(description="Publish selected replies…", permissions=["change"])
    def publish_selected(self, request, queryset):
        return _moderate_with_reason(
            self,
            request,
            queryset,
            to_status=RatingStatus.PUBLISHED,
            verb="publish",
            moderate=_reply_moderate,
            noun="reply",
        )

    @admin.action(description="Hide selected replies…", permissions=["change"])
    def hide_selected(self, request, queryset):
        return _moderate_with_reason(
            self, request, queryset, to_status=RatingStatus.HIDDEN, verb="hide", moderate=_reply_moderate, noun="reply"
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RatingInvitation)
class RatingInvitationAdmin(ReadOnlyAdmin):
    list_display = (
        "external_reference",
        "provider",
        "customer",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
    )
    list_filter = (("used_at", admin.EmptyFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("external_reference", "provider__name", "customer__user__email")
    list_select_related = ("provider", "customer__user")


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
