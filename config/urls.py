from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.accounts.pages import email_verify_page, password_reset_page
from apps.core.api.docs import RedocView, redoc_bundle_view
from apps.core.api.views import HealthzView, ReadyzView
from apps.core.metrics import metrics_view
from apps.notifications.views import InboxLoginView, inbox_view
from config.views import favicon, landing

urlpatterns = [
    path("", landing, name="landing"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", include("config.api_v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/redoc/redoc.standalone.js", redoc_bundle_view, name="redoc-bundle"),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("notifications/", include("apps.notifications.urls")),
    # The live inbox page (session sign-in; the notifications deployment has no users to sign in).
    path("inbox/", inbox_view, name="inbox"),
    path("inbox/login/", InboxLoginView.as_view(), name="inbox-login"),
    path("inbox/logout/", LogoutView.as_view(next_page="inbox-login"), name="inbox-logout"),
    # Where the account emails' links land (ACCOUNT_PASSWORD_RESET_URL, ACCOUNT_EMAIL_VERIFY_URL).
    path("account/reset-password/", password_reset_page, name="account-password-reset"),
    path("account/verify-email/", email_verify_page, name="account-email-verify"),
    path("admin/", admin.site.urls),
    # The partner API keeps the paths of the Homerun services it replaces (no /api/v1/ prefix).
    path("", include("apps.partners.urls")),
]

handler400 = "apps.core.errors.bad_request"
handler403 = "apps.core.errors.permission_denied"
handler404 = "apps.core.errors.not_found"
handler500 = "apps.core.errors.server_error"
