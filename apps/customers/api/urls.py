from django.urls import path

from apps.customers.api import views

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="customer-list"),
    path("me/", views.CustomerMeView.as_view(), name="customer-me"),
    path("<uuid:customer_id>/", views.CustomerDetailView.as_view(), name="customer-detail"),
]
