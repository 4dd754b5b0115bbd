from django.urls import include, path

from apps.providers.api import views as provider_views
from apps.ratings.api.urls import customer_urlpatterns as customer_rating_urls
from apps.ratings.api.urls import provider_urlpatterns as provider_rating_urls

app_name = "v1"

urlpatterns = [
    path("auth/", include("apps.accounts.api.urls")),
    path("accounts/", include("apps.accounts.api.account_urls")),
    path("customers/", include(customer_rating_urls)),
    path("customers/", include("apps.customers.api.urls")),
    path("providers/", include(provider_rating_urls)),
    path("providers/", include("apps.providers.api.urls")),
    # The partners' invitations (apps.partners), before the ratings' own paths.
    path("ratings/invitations/", include("apps.partners.invitation_urls")),
    path("ratings/", include("apps.ratings.api.urls")),
    path("service-categories/", provider_views.ServiceCategoryListView.as_view(), name="service-category-list"),
    # The trigger API (apps.partners: it resolves providers and a partner's own users).
    path("notifications/triggers/", include("apps.partners.trigger_urls")),
    path("notifications/", include("apps.notifications.api.urls")),
]
