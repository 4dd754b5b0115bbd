from uuid import UUID

from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.accounts.api.serializers import CLAIM_LINK_SENT, AcceptedOutput
from apps.accounts.api.throttling import SignUpEmailThrottle
from apps.accounts.locales import locale_from_accept_language
from apps.accounts.permissions import IsProvider
from apps.accounts.services import PASSWORD_ERROR_CODES, WrongPassword
from apps.core.api.base import APIView, GenericAPIView
from apps.core.api.caching import IF_NONE_MATCH_PARAMETER, NOT_MODIFIED_RESPONSE, PublicReadCacheMixin
from apps.core.exceptions import PermissionDenied
from apps.core.openapi import conflict_response, raises
from apps.core.pagination import CursorPagination
from apps.providers.api.serializers import (
    ProviderDeleteInput,
    ProviderMeOutput,
    ProviderMeUpdateInput,
    ProviderOutput,
    ProviderRegisterInput,
    ProviderUpdateInput,
    ServiceCategoryOutput,
)
from apps.providers.filters import ProviderFilter, ProviderFilterBackend, ProviderOrdering
from apps.providers.selectors import provider_get, provider_get_for_edit, provider_list, service_category_list
from apps.providers.services import provider_delete, provider_sign_up, provider_update


@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="password", methods=["post"])
@extend_validation_errors(["invalid"], field_name="services", methods=["post"])
@extend_validation_errors(["invalid_choice"], field_name="ordering", methods=["get"])
class ProviderListView(PublicReadCacheMixin, GenericAPIView):
    """Public provider directory, plus provider registration."""

    # Listing and registration are public and never look at the caller: no token to verify,
    # no user to load (throttling then counts every caller by client IP).
    authentication_classes: list = []
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, SignUpEmailThrottle]
    filter_backends = [ProviderFilterBackend, ProviderOrdering]
    filterset_class = ProviderFilter
    serializer_class = ProviderOutput

    def get_permissions(self):
        return [AllowAny()]

    def get_queryset(self):
        return provider_list()

    @extend_schema(
        operation_id="providers_list",
        summary="List providers",
        description=(
            "The public provider directory, cursor-paginated: `search` matches name or description, `service` "
            "a service category slug, `min_average` the exact average (1 to 5), and `ordering` sorts by "
            "average, count, name or creation (default newest first). Each provider carries its exact rating "
            "summary. No authentication: the same answer for everyone."
        ),
        tags=["providers"],
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: ProviderOutput(many=True), 304: NOT_MODIFIED_RESPONSE},
        auth=[{}],
    )
    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ProviderOutput(page, many=True).data)

    @extend_schema(
        operation_id="providers_register",
        summary="Register a provider",
        description=(
            "Creates a provider account and its public profile (name, description, service category slugs). "
            "The email is unique in any letter case (409 `already_exists`); unknown service slugs are a 400 "
            "on `services`. An address that belongs to an account a partner made (it has no password yet) is "
            "not a 409: a link to claim that account is emailed to the address and the answer is 202. "
            "`locale`, the language of the account's notices, is the first of `en`, `de` that the "
            "`Accept-Language` header accepts (`en` without one)."
        ),
        tags=["providers"],
        request=ProviderRegisterInput,
        responses={201: ProviderMeOutput, 202: AcceptedOutput, 409: conflict_response("already_exists")},
        auth=[{}],
    )
    def post(self, request):
        data = ProviderRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        # The notices' language: the browser's or app's preference, changeable later (PATCH me/).
        locale = locale_from_accept_language(request.headers.get("Accept-Language", ""))
        provider = provider_sign_up(**data.validated_data, locale=locale)
        if provider is None:
            return Response(AcceptedOutput({"detail": CLAIM_LINK_SENT}).data, status=status.HTTP_202_ACCEPTED)
        return Response(ProviderMeOutput(provider_get(provider_id=provider.pk)).data, status=status.HTTP_201_CREATED)


@extend_validation_errors(["invalid"], field_name="services", methods=["patch"])
class ProviderMeView(APIView):
    permission_classes = [IsProvider]
    # DELETE takes the password in its body (apps.core.openapi documents it).
    delete_reads_body = True

    @extend_schema(
        operation_id="providers_me",
        summary="The signed-in provider",
        description=(
            "The profile of the signed-in provider, with its email and rating summary; 403 for a user who is "
            "not a provider."
        ),
        tags=["providers"],
        responses={200: ProviderMeOutput},
    )
    def get(self, request):
        return Response(ProviderMeOutput(provider_get(provider_id=request.user.provider.pk)).data)

    @extend_schema(
        operation_id="providers_me_update",
        summary="Update the signed-in provider",
        description=(
            "Changes the name, description, service categories and/or the notices' language (`locale`: `en` "
            "or `de`, 400 `invalid_choice` otherwise) of the signed-in provider; fields left out stay as "
            "they are."
        ),
        tags=["providers"],
        request=ProviderMeUpdateInput,
        responses={200: ProviderMeOutput},
    )
    def patch(self, request):
        data = ProviderMeUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        provider_update(provider=request.user.provider, **data.validated_data)
        return Response(ProviderMeOutput(provider_get(provider_id=request.user.provider.pk)).data)

    @extend_schema(
        operation_id="providers_me_delete",
        summary="Delete the signed-in provider's account",
        description=(
            "Deletes the account after checking the current `password` (400 `wrong_password`), in one "
            "transaction. The account is erased as a customer's is (email on the reserved domain "
            "`deleted.invalid`, name `Deleted user`, password unusable, refresh tokens revoked, user "
            "inactive). The profile is erased (name `Deleted provider`, no description or services) and is "
            "no longer listed or shown (404), rated or invited for; its ratings and its rating summary stay "
            "as they are, so the summary stays exact; its replies are deleted. The inbox, devices, webhook endpoints, "
            "deliveries and preferences of the account are removed by the notifications app from an "
            "`account.deleted` event committed with the deletion."
        ),
        tags=["providers"],
        request=ProviderDeleteInput,
        responses={204: None},
    )
    @raises(WrongPassword)
    def delete(self, request):
        data = ProviderDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        provider_delete(provider=request.user.provider, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_validation_errors(["invalid"], field_name="services", methods=["patch"])
class ProviderDetailView(PublicReadCacheMixin, APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(
        operation_id="providers_retrieve",
        summary="A provider profile",
        description=(
            "A provider's public profile with its exact rating summary. Public; a Bearer token is optional, "
            "but an invalid one is 401."
        ),
        tags=["providers"],
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: ProviderOutput, 304: NOT_MODIFIED_RESPONSE},
    )
    def get(self, request, provider_id: UUID):
        return Response(ProviderOutput(provider_get(provider_id=provider_id)).data)

    @extend_schema(
        operation_id="providers_partial_update",
        summary="Update a provider profile",
        description=(
            "Changes the name, description or service categories of a provider profile. Only the provider "
            "itself or staff may (403 otherwise); fields not sent are left as they are."
        ),
        tags=["providers"],
        request=ProviderUpdateInput,
        responses={200: ProviderMeOutput},
    )
    @raises(PermissionDenied)
    def patch(self, request, provider_id: UUID):
        provider = provider_get_for_edit(provider_id=provider_id, user=request.user)
        data = ProviderUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        provider_update(provider=provider, **data.validated_data)
        return Response(ProviderMeOutput(provider_get(provider_id=provider_id)).data)


class ServiceCategoryPagination(CursorPagination):
    ordering = ("name", "id")


class ServiceCategoryListView(PublicReadCacheMixin, GenericAPIView):
    """The catalog of service categories a provider can offer (the slugs of ``services``)."""

    # Public and the same for everyone: no token to verify, no user to load.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    pagination_class = ServiceCategoryPagination
    serializer_class = ServiceCategoryOutput

    def get_queryset(self):
        return service_category_list()

    @extend_schema(
        operation_id="service_categories_list",
        summary="List service categories",
        description=(
            "The catalog of service categories, by name, cursor-paginated: the `slug` values a provider "
            "lists in `services` and the provider directory filters on (`?service=`). Staff manage it in "
            "the admin. No authentication: the same answer for everyone."
        ),
        tags=["providers"],
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: ServiceCategoryOutput(many=True), 304: NOT_MODIFIED_RESPONSE},
        auth=[{}],
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ServiceCategoryOutput(page, many=True).data)
