"""The account's own data, under /api/v1/accounts/ (mounted in config/api_v1.py)."""

from django.urls import path

from apps.accounts.api import export_views

urlpatterns = [
    path("me/export/", export_views.DataExportRequestView.as_view(), name="account-export"),
    path("exports/<uuid:export_id>/", export_views.DataExportDownloadView.as_view(), name="account-export-download"),
]
