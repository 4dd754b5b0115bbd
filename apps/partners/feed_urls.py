"""The partner paths the notifications deployment serves too (Homerun's notification service had them)."""

from django.urls import path

from apps.partners.api import feed_views

urlpatterns = [
    path("healthcheck", feed_views.HealthcheckView.as_view(), name="partner-healthcheck"),
    path(
        "api/notifications/<str:serviceProviderId>",
        feed_views.NotificationFeedView.as_view(),
        name="partner-notifications-feed",
    ),
]
