"""The partners' invitation paths, under /api/v1/ratings/invitations/ (mounted in config/api_v1.py)."""

from django.urls import path

from apps.partners.api import invitation_views

urlpatterns = [
    path("", invitation_views.RatingInvitationListView.as_view(), name="rating-invitation-list"),
    path("bulk/", invitation_views.RatingInvitationBulkView.as_view(), name="rating-invitation-bulk"),
    path(
        "<uuid:invitation_id>/revoke/",
        invitation_views.RatingInvitationRevokeView.as_view(),
        name="rating-invitation-revoke",
    ),
]
