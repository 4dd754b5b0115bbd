"""The trigger API's path, under /api/v1/notifications/triggers/ (mounted in config/api_v1.py)."""

from django.urls import path

from apps.partners.api import trigger_views

urlpatterns = [
    path("", trigger_views.NotificationTriggerView.as_view(), name="notification-trigger"),
]
