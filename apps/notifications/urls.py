from django.urls import path

from apps.notifications.views import unsubscribe_view

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe_view, name="notifications-unsubscribe"),
]
