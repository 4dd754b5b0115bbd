from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsCustomer
from apps.core.openapi import conflict_response
from apps.customers.api.serializers import CustomerOutput, CustomerRegisterInput
from apps.customers.selectors import customer_get_visible
from apps.customers.services import customer_register


class CustomerListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="customers_register",
        tags=["customers"],
        request=CustomerRegisterInput,
        responses={201: CustomerOutput, 409: conflict_response("already_exists")},
        auth=[],
    )
    def post(self, request):
        data = CustomerRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_register(**data.validated_data)
        return Response(CustomerOutput(customer).data, status=status.HTTP_201_CREATED)


class CustomerMeView(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(operation_id="customers_me", tags=["customers"], responses={200: CustomerOutput})
    def get(self, request):
        return Response(CustomerOutput(request.user.customer).data)


class CustomerDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="customers_retrieve", tags=["customers"], responses={200: CustomerOutput})
    def get(self, request, customer_id: UUID):
        return Response(CustomerOutput(customer_get_visible(customer_id=customer_id, viewer=request.user)).data)
