from django.urls import path

from apps.ratings.api import views

urlpatterns = [
    path("", views.RatingListView.as_view(), name="rating-list"),
    path("<uuid:rating_id>/", views.RatingDetailView.as_view(), name="rating-detail"),
]

provider_urlpatterns = [
    path(
        "<uuid:provider_id>/rating-summary/", views.ProviderRatingSummaryView.as_view(), name="provider-rating-summary"
    ),
]
