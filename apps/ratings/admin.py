"""Staff moderation in the admin. Every status change goes through ``rating_moderate`` (or
``reply_moderate`` for replies); no admin form can write a rating's or reply's status or text."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.core.admin_mixins import ReadOnlyPageMixin
from apps.core.exceptions import ApplicationError
from apps.ratings.models import (
    ModerationDecision,
    Rating,
    RatingHelpfulVote,
    RatingInvitation,
    RatingReply,
    RatingReport,
    RatingRevision,
    RatingStatus,
    RatingSummary,
    ReportStatus,
    rating_title_related,
)
from apps.ratings.selectors import (
    UNUSUAL_VOTES_MIN,
    UNUSUAL_VOTES_NEW_ACCOUNT,
    UNUSUAL_VOTES_WINDOW,
    helpful_votes_unusual,
    ratings_with_unusual_voting,
)
from apps.ratings.services import rating_moderate, reply_moderate, report_resolve


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
