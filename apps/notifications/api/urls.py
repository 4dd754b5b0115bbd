from django.urls import path

from apps.notifications.api import stream, views

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="notification-list"),
    path("unread-count/", views.NotificationUnreadCountView.as_view(), name="notification-unread-count"),
    path("read-all/", views.NotificationReadAllView.as_view(), name="notification-read-all"),
    path("counts/", views.NotificationCountsView.as_view(), name="notification-counts"),
    path("seen/", views.NotificationSeenView.as_view(), name="notification-seen"),
    path("stream/", stream.NotificationStreamView.as_view(), name="notification-stream"),
    path("preferences/", views.NotificationPreferencesView.as_view(), name="notification-preferences"),
    path("schedule/", views.NotificationScheduleView.as_view(), name="notification-schedule"),
    path("<uuid:notification_id>/read/", views.NotificationReadView.as_view(), name="notification-read"),
    path("<uuid:notification_id>/unread/", views.NotificationUnreadView.as_view(), name="notification-unread"),
    path("<uuid:notification_id>/archive/", views.NotificationArchiveView.as_view(), name="notification-archive"),
    path("<uuid:notification_id>/unarchive/", views.NotificationUnarchiveView.as_view(), name="notification-unarchive"),
    path("webhooks/", views.WebhookListView.as_view(), name="notification-webhook-list"),
    path("webhooks/<uuid:endpoint_id>/", views.WebhookDetailView.as_view(), name="notification-webhook-detail"),
    path(
        "webhooks/<uuid:endpoint_id>/rotate-secret/",
        views.WebhookRotateSecretView.as_view(),
        name="notification-webhook-rotate-secret",
    ),
    path("webhooks/<uuid:endpoint_id>/test/", views.WebhookTestView.as_view(), name="notification-webhook-test"),
    path(
        "webhooks/<uuid:endpoint_id>/recover/", views.WebhookRecoverView.as_view(), name="notification-webhook-recover"
    ),
    path("deliveries/", views.DeliveryListView.as_view(), name="notification-delivery-list"),
    path(
        "deliveries/<uuid:delivery_id>/replay/", views.DeliveryReplayView.as_view(), name="notification-delivery-replay"
    ),
    path("devices/", views.DeviceListView.as_view(), name="notification-device-list"),
    path("devices/<uuid:device_id>/", views.DeviceDetailView.as_view(), name="notification-device-detail"),
]
