"""The partner API's paths: Homerun's, unprefixed, so a Homerun client changes only its base URL
(and sends its key)."""

from django.urls import path

from apps.partners.api import feed_views, views

urlpatterns = [
    path("healthcheck", feed_views.HealthcheckView.as_view(), name="partner-healthcheck"),
    path(
        "api/internal/notifications",
        feed_views.InternalNotificationView.as_view(),
        name="partner-internal-notifications",
    ),
    path(
        "api/notifications/<str:serviceProviderId>",
        feed_views.NotificationFeedView.as_view(),
        name="partner-notifications-feed",
    ),
    path("v1/customers", views.CustomerListView.as_view(), name="partner-customers"),
    path("v1/customers/<str:id>", views.CustomerDetailView.as_view(), name="partner-customer"),
    path("v1/service-providers", views.ServiceProviderListView.as_view(), name="partner-service-providers"),
    path("v1/service-providers/<str:id>", views.ServiceProviderDetailView.as_view(), name="partner-service-provider"),
    path(
        "v1/service-providers/<str:id>/average-rating",
        views.AverageRatingView.as_view(),
        name="partner-service-provider-average-rating",
    ),
    path("v1/ratings", views.RatingListView.as_view(), name="partner-ratings"),
    path("v1/ratings/<str:id>", views.RatingDetailView.as_view(), name="partner-rating"),
]
