from uuid import UUID

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsProvider
from apps.core.openapi import conflict_response
from apps.providers.api.serializers import (
    ProviderMeOutput,
    ProviderOutput,
    ProviderRegisterInput,
    ProviderUpdateInput,
)
from apps.providers.filters import ProviderFilter, ProviderOrdering
from apps.providers.selectors import provider_get, provider_get_for_edit, provider_list
from apps.providers.services import provider_register, provider_update


class ProviderListView(GenericAPIView):
    """Public provider directory, plus provider registration."""

    # Listing and registration are public and never look at the caller: no token to verify,
    # no user to load (throttling then counts every caller by client IP).
    authentication_classes: list = []
    filter_backends = [DjangoFilterBackend, ProviderOrdering]
    filterset_class = ProviderFilter
    serializer_class = ProviderOutput

    def get_permissions(self):
        return [AllowAny()]

    def get_queryset(self):
        return provider_list()

    @extend_schema(
        operation_id="providers_list", tags=["providers"], responses={200: ProviderOutput(many=True)}, auth=[{}]
    )
    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ProviderOutput(page, many=True).data)

    @extend_schema(
        operation_id="providers_register",
        tags=["providers"],
        request=ProviderRegisterInput,
        responses={201: ProviderMeOutput, 409: conflict_response("already_exists")},
        auth=[{}],
    )
    def post(self, request):
        data = ProviderRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        provider = provider_register(**data.validated_data)
        return Response(ProviderMeOutput(provider_get(provider_id=provider.pk)).data, status=status.HTTP_201_CREATED)


class ProviderMeView(APIView):
    permission_classes = [IsProvider]

    @extend_schema(operation_id="providers_me", tags=["providers"], responses={200: ProviderMeOutput})
    def get(self, request):
        return Response(ProviderMeOutput(provider_get(provider_id=request.user.provider.pk)).data)


class ProviderDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(operation_id="providers_retrieve", tags=["providers"], responses={200: ProviderOutput}, auth=[{}])
    def get(self, request, provider_id: UUID):
        return Response(ProviderOutput(provider_get(provider_id=provider_id)).data)

    @extend_schema(
        operation_id="providers_partial_update",
        tags=["providers"],
        request=ProviderUpdateInput,
        responses={200: ProviderMeOutput},
    )
    def patch(self, request, provider_id: UUID):
        provider = provider_get_for_edit(provider_id=provider_id, user=request.user)
        data = ProviderUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        provider_update(provider=provider, **data.validated_data)
        return Response(ProviderMeOutput(provider_get(provider_id=provider_id)).data)
