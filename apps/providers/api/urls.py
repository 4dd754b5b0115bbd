from django.urls import path

from apps.providers.api import views

urlpatterns = [
    path("", views.ProviderListView.as_view(), name="provider-list"),
    path("me/", views.ProviderMeView.as_view(), name="provider-me"),
    path("<uuid:provider_id>/", views.ProviderDetailView.as_view(), name="provider-detail"),
]
