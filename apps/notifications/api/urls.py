from django.urls import path

from apps.notifications.api import deliveries, devices, event_types, inbox, preferences, stream, webhooks

urlpatterns = [
    path("", inbox.NotificationListView.as_view(), name="notification-list"),
    path("unread-count/", inbox.NotificationUnreadCountView.as_view(), name="notification-unread-count"),
    path("read-all/", inbox.NotificationReadAllView.as_view(), name="notification-read-all"),
    path("counts/", inbox.NotificationCountsView.as_view(), name="notification-counts"),
    path("seen/", inbox.NotificationSeenView.as_view(), name="notification-seen"),
    path("stream/", stream.NotificationStreamView.as_view(), name="notification-stream"),
    path("preferences/", preferences.NotificationPreferencesView.as_view(), name="notification-preferences"),
    path("schedule/", preferences.NotificationScheduleView.as_view(), name="notification-schedule"),
    path("<uuid:notification_id>/read/", inbox.NotificationReadView.as_view(), name="notification-read"),
    path("<uuid:notification_id>/unread/", inbox.NotificationUnreadView.as_view(), name="notification-unread"),
    path("<uuid:notification_id>/archive/", inbox.NotificationArchiveView.as_view(), name="notification-archive"),
    path("<uuid:notification_id>/unarchive/", inbox.NotificationUnarchiveView.as_view(), name="notification-unarchive"),
    path("event-types/", event_types.EventTypeListView.as_view(), name="notification-event-type-list"),
    path("webhooks/", webhooks.WebhookListView.as_view(), name="notification-webhook-list"),
    path("webhooks/<uuid:endpoint_id>/", webhooks.WebhookDetailView.as_view(), name="notification-webhook-detail"),
    path(
        "webhooks/<uuid:endpoint_id>/rotate-secret/",
        webhooks.WebhookRotateSecretView.as_view(),
        name="notification-webhook-rotate-secret",
    ),
    path("webhooks/<uuid:endpoint_id>/test/", webhooks.WebhookTestView.as_view(), name="notification-webhook-test"),
    path(
        "webhooks/<uuid:endpoint_id>/recover/",
        webhooks.WebhookRecoverView.as_view(),
        name="notification-webhook-recover",
    ),
    path("deliveries/", deliveries.DeliveryListView.as_view(), name="notification-delivery-list"),
    path(
        "deliveries/<uuid:delivery_id>/replay/",
        deliveries.DeliveryReplayView.as_view(),
        name="notification-delivery-replay",
    ),
    path(
        "deliveries/<uuid:delivery_id>/attempts/",
        deliveries.DeliveryAttemptsView.as_view(),
        name="notification-delivery-attempts",
    ),
    path("devices/", devices.DeviceListView.as_view(), name="notification-device-list"),
    path("devices/<uuid:device_id>/", devices.DeviceDetailView.as_view(), name="notification-device-detail"),
]
