"""The ratings' admin: the moderation queue and one rating's page with its decision buttons."""

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from apps.core.admin_mixins import ReadOnlyPageMixin
from apps.core.exceptions import ApplicationError
from apps.ratings.admin.common import (
    ModerationDecisionForm,
    ReadOnlyInline,
    _moderate_with_reason,
    _rating_moderate,
)
from apps.ratings.models import (
    ModerationDecision,
    Rating,
    RatingReply,
    RatingReport,
    RatingRevision,
    RatingStatus,
    ReportStatus,
    rating_title_related,
)
from apps.ratings.selectors import (
    UNUSUAL_VOTES_MIN,
    UNUSUAL_VOTES_NEW_ACCOUNT,
    UNUSUAL_VOTES_WINDOW,
    ratings_with_unusual_voting,
)
from apps.ratings.services import rating_moderate, report_resolve


class RatingChildInline(ReadOnlyInline):
    """A read-only table of rows that belong to the rating on the page.

    A tabular inline prints each row's ``__str__``, which names the rating; ``related`` are the
    row's own relations the table shows. Both are fetched with the rows, so a rating with many
    reports costs the page no more queries than one with a single report. A further kind of row
    (the rating's edit history, say) is one more subclass naming its model, fields and relations.
    """

    related: tuple[str, ...] = ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*rating_title_related("rating__"), *self.related)


class RatingReportInline(RatingChildInline):
    model = RatingReport
    fk_name = "rating"
    fields = ("reporter", "reason", "details", "status", "resolved_by", "resolved_at", "created_at")
    related = ("reporter", "resolved_by")


class RatingReplyInline(RatingChildInline):
    model = RatingReply
    fields = ("body", "status", "moderation_reason", "created_at", "updated_at")
    verbose_name = "provider's reply"


class RatingRevisionInline(RatingChildInline):
    """The rating as it was before each change, newest first."""

    model = RatingRevision
    fields = ("created_at", "kind", "changed_by", "score", "comment", "status")
    ordering = ("-created_at", "-id")
    verbose_name_plural = "revisions (the rating before each change)"
    related = ("changed_by",)


class ModerationDecisionInline(RatingChildInline):
    model = ModerationDecision
    fields = ("created_at", "moderator", "from_status", "to_status", "reason")
    verbose_name_plural = "moderation history"
    related = ("moderator",)


class ModerationQueueFilter(admin.SimpleListFilter):
    """What waits for a moderator: ratings held for review, and ratings with open reports.

    While it is on and no column is sorted, the most reported come first, then the oldest.
    """

    title = "moderation queue"
    parameter_name = "queue"
    WAITING = "waiting"

    def lookups(self, request, model_admin):
        return [(self.WAITING, "Waiting for a decision")]

    def queryset(self, request, queryset):
        if self.value() == self.WAITING:
            return queryset.filter(Q(status=RatingStatus.PENDING_REVIEW) | Q(open_report_count__gt=0))
        return queryset


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


class UnusualVotingFilter(admin.SimpleListFilter):
    """Ratings that got many helpful votes in a short time from new accounts (vote stuffing)."""

    title = "unusual voting"
    parameter_name = "voting"
    UNUSUAL = "unusual"

    def lookups(self, request, model_admin):
        return [
            (
                self.UNUSUAL,
                f"{UNUSUAL_VOTES_MIN}+ votes in {int(UNUSUAL_VOTES_WINDOW.total_seconds() // 3600)} h "
                f"from accounts under {UNUSUAL_VOTES_NEW_ACCOUNT.days} days old",
            )
        ]

    def queryset(self, request, queryset):
        if self.value() == self.UNUSUAL:
            return ratings_with_unusual_voting(queryset)
        return queryset


@admin.register(Rating)
class RatingAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    """The moderation queue, and one rating's page with its Publish / Hide buttons."""

    change_form_template = "admin/ratings/rating/change_form.html"
    list_display = (
        "title",
        "status",
        "open_reports",
        "hold_reason",
        "short_comment",
        "verified",
        "created_at",
    )
    list_filter = (
        ModerationQueueFilter,
        "status",
        ReportedFilter,
        UnusualVotingFilter,
        "score",
        "verified",
        ("provider", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("comment", "provider__name", "customer__user__email", "customer__user__name", "=id")
    list_select_related = rating_title_related()
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
        "helpful_count",
        "first_published_at",
        "edited_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (RatingReportInline, RatingReplyInline, ModerationDecisionInline, RatingRevisionInline)
    actions = ("publish_selected", "hide_selected", "dismiss_open_reports")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # The title (list rows, breadcrumbs, the page heading) names the customer and the
        # provider: selected here, so neither the list nor a change page queries per rating.
        # ModelAdmin.get_queryset() orders before this could annotate, and the queue's ordering
        # needs the annotation: the same steps, annotation first.
        queryset = (
            self.model._default_manager.get_queryset()
            .select_related(*rating_title_related(), "invitation__provider")
            .annotate(open_report_count=Count("reports", filter=Q(reports__status=ReportStatus.OPEN)))
        )
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_ordering(self, request):
        if request.GET.get(ModerationQueueFilter.parameter_name) == ModerationQueueFilter.WAITING:
            return ("-open_report_count", "created_at", "id")
        return super().get_ordering(request)

    @admin.display(description="Rating", ordering="score")
    def title(self, obj: Rating) -> str:
        return str(obj)

    @admin.display(description="Open reports", ordering="open_report_count")
    def open_reports(self, obj: Rating) -> int:
        return obj.open_report_count

    @admin.display(description="Held / hidden because")
    def hold_reason(self, obj: Rating) -> str:
        return obj.moderation_reason or "—"

    @admin.display(description="Comment")
    def short_comment(self, obj: Rating) -> str:
        return obj.comment[:80]

    @admin.action(description="Publish selected ratings…", permissions=["change"])
    def publish_selected(self, request, queryset):
        return _moderate_with_reason(
            self,
            request,
            queryset,
            to_status=RatingStatus.PUBLISHED,
            verb="publish",
            moderate=_rating_moderate,
            noun="rating",
        )

    @admin.action(description="Hide selected ratings…", permissions=["change"])
    def hide_selected(self, request, queryset):
        return _moderate_with_reason(
            self,
            request,
            queryset,
            to_status=RatingStatus.HIDDEN,
            verb="hide",
            moderate=_rating_moderate,
            noun="rating",
        )

    @admin.action(description="Dismiss open reports (keep ratings as they are)", permissions=["change"])
    def dismiss_open_reports(self, request, queryset):
        reports = RatingReport.objects.filter(rating__in=queryset, status=ReportStatus.OPEN)
        count = 0
        for report in reports:
            report_resolve(report=report, upheld=False, moderator=request.user)
            count += 1
        self.message_user(request, f"Dismissed {count} report(s).", messages.SUCCESS)

    def get_urls(self):
        moderate = self.admin_site.admin_view(require_POST(self.moderate_view))
        name = f"{self.opts.app_label}_{self.opts.model_name}_moderate"
        return [path("<path:object_id>/moderate/", moderate, name=name), *super().get_urls()]

    def moderate_view(self, request, object_id):
        """Publish or hide one rating from its page, through ``rating_moderate`` like the bulk actions."""
        rating = self.get_object(request, object_id)
        if rating is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, rating):
            raise PermissionDenied
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[rating.pk])
        preserved = {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts}
        form = ModerationDecisionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(add_preserved_filters(preserved, change_url))
        to_status = form.cleaned_data["to_status"]
        try:
            rating_moderate(
                rating=rating, to_status=to_status, reason=form.cleaned_data["reason"], moderator=request.user
            )
        except ApplicationError as exc:
            self.message_user(request, f"{rating}: {exc.detail}", messages.WARNING)
            return HttpResponseRedirect(add_preserved_filters(preserved, change_url))
        past = "hidden" if to_status == RatingStatus.HIDDEN else "published"
        self.message_user(request, f"{rating} was {past}; its author and the provider are told.", messages.SUCCESS)
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return HttpResponseRedirect(add_preserved_filters(preserved, changelist))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                can_moderate=self.has_change_permission(request, obj),
                can_publish=obj.status != RatingStatus.PUBLISHED,
                can_hide=obj.status != RatingStatus.HIDDEN,
                moderate_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_moderate", args=[obj.pk]),
            )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def has_add_permission(self, request) -> bool:
        # Ratings are written only through the services, which keep summaries exact.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
