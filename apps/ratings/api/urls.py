from django.urls import path

from apps.ratings.api import provider_views, views

urlpatterns = [
    path("", views.RatingListView.as_view(), name="rating-list"),
    path("<uuid:rating_id>/", views.RatingDetailView.as_view(), name="rating-detail"),
    path("<uuid:rating_id>/reports/", views.RatingReportListView.as_view(), name="rating-report-list"),
    path("<uuid:rating_id>/reply/", views.RatingReplyView.as_view(), name="rating-reply"),
    path("<uuid:rating_id>/helpful/", views.RatingHelpfulView.as_view(), name="rating-helpful"),
]

provider_urlpatterns = [
    path(
        "<uuid:provider_id>/rating-summary/",
        provider_views.ProviderRatingSummaryView.as_view(),
        name="provider-rating-summary",
    ),
    path(
        "<uuid:provider_id>/rating-metrics/",
        provider_views.ProviderRatingMetricsView.as_view(),
        name="provider-rating-metrics",
    ),
]

customer_urlpatterns = [
    path("me/invitations/", views.CustomerInvitationListView.as_view(), name="customer-me-invitations"),
]
