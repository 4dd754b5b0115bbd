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
from apps.accounts.permissions import IsCustomer
from apps.accounts.services import PASSWORD_ERROR_CODES, WrongPassword, user_update
from apps.core.api.base import APIView
from apps.core.openapi import conflict_response, raises
from apps.customers.api.serializers import (
    CustomerDeleteInput,
    CustomerOutput,
    CustomerRegisterInput,
    CustomerUpdateInput,
)
from apps.customers.models import Customer
from apps.customers.selectors import customer_get_visible
from apps.customers.services import customer_delete, customer_sign_up


@extend_validation_errors(PASSWORD_ERROR_CODES, field_name="password", methods=["post"])
class CustomerListView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, SignUpEmailThrottle]

    @extend_schema(
        operation_id="customers_register",
        summary="Register a customer",
        description=(
            "Creates a customer account (email, password, display name) that can sign in at once. The email "
            "is unique in any letter case (409 `already_exists`); the password must pass the password rules "
            "(the 400 codes `password_too_*`); the name is one line without control characters. An address "
            "that belongs to an account a partner made (it has no password yet) is not a 409: a link to claim "
            "that account is emailed to the address and the answer is 202. `locale`, the language of the "
            "account's notices, is the first of `en`, `de` that the `Accept-Language` header accepts "
            "(`en` without one)."
        ),
        tags=["customers"],
        request=CustomerRegisterInput,
        responses={201: CustomerOutput, 202: AcceptedOutput, 409: conflict_response("already_exists")},
        auth=[],
    )
    def post(self, request):
        data = CustomerRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        # The notices' language: the browser's or app's preference, changeable later (PATCH me/).
        locale = locale_from_accept_language(request.headers.get("Accept-Language", ""))
        customer = customer_sign_up(**data.validated_data, locale=locale)
        if customer is None:
            return Response(AcceptedOutput({"detail": CLAIM_LINK_SENT}).data, status=status.HTTP_202_ACCEPTED)
        return Response(CustomerOutput(customer).data, status=status.HTTP_201_CREATED)


class CustomerMeView(APIView):
    permission_classes = [IsCustomer]
    # DELETE takes the password in its body (apps.core.openapi documents it).
    delete_reads_body = True

    @extend_schema(
        operation_id="customers_me",
        summary="The signed-in customer",
        description=("The profile of the signed-in customer; 403 for a user who is not a customer."),
        tags=["customers"],
        responses={200: CustomerOutput},
    )
    def get(self, request):
        return Response(CustomerOutput(request.user.customer).data)

    @extend_schema(
        operation_id="customers_me_update",
        summary="Update the signed-in customer",
        description=(
            "Changes the display name, the email address and/or the notices' language (`locale`: `en` or "
            "`de`, 400 `invalid_choice` otherwise) of the signed-in customer; fields left out "
            "stay as they are. A new email needs the current `password` (400 `wrong_password` without it or "
            "with a wrong one), must be free in any letter case (409 `already_exists`), turns "
            "`email_verified` false and sends a verification email to the new address."
        ),
        tags=["customers"],
        request=CustomerUpdateInput,
        responses={200: CustomerOutput, 409: conflict_response("already_exists")},
    )
    @raises(WrongPassword)
    def patch(self, request):
        data = CustomerUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user_update(user=request.user, **data.validated_data)
        return Response(CustomerOutput(Customer.objects.select_related("user").get(user=request.user)).data)

    @extend_schema(
        operation_id="customers_me_delete",
        summary="Delete the signed-in customer's account",
        description=(
            "Deletes the account after checking the current `password` (400 `wrong_password`). The account "
            "is deactivated and its personal data erased in one transaction: the email becomes an "
            "undeliverable placeholder on the reserved domain `deleted.invalid`, the name `Deleted user`, "
            "the password unusable, every refresh token revoked (access tokens stop working at once: the "
            "user is inactive). The customer's ratings stay, counted in the providers' summaries, and show "
            "their author as `Deleted user`; their comments are emptied. The inbox, devices, webhook "
            "endpoints, deliveries and preferences of the account are removed by the notifications app "
            "from an `account.deleted` event committed with the deletion."
        ),
        tags=["customers"],
        request=CustomerDeleteInput,
        responses={204: None},
    )
    @raises(WrongPassword)
    def delete(self, request):
        data = CustomerDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer_delete(customer=request.user.customer, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="customers_retrieve",
        summary="A customer profile",
        description=(
            "A customer profile as the caller may see it: their own, or any for staff. Anyone else gets 404, "
            "the same answer as for an id that does not exist."
        ),
        tags=["customers"],
        responses={200: CustomerOutput},
    )
    def get(self, request, customer_id: UUID):
        return Response(CustomerOutput(customer_get_visible(customer_id=customer_id, viewer=request.user)).data)
