from rest_framework.permissions import BasePermission


class IsCustomer(BasePermission):
    message = "Only customers can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_customer)


class IsProvider(BasePermission):
    message = "Only providers can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_provider)
