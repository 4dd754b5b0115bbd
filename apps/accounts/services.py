from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.core.exceptions import AlreadyExists, ApplicationError

# The codes of Django's password validators (AUTH_PASSWORD_VALIDATORS), which registration
# passes through as the password field's validation errors; the OpenAPI document lists them.
PASSWORD_ERROR_CODES = [
    "password_too_similar",
    "password_too_short",
    "password_too_common",
    "password_entirely_numeric",
]


def _email_taken() -> AlreadyExists:
    return AlreadyExists("A user with this email already exists.")


@transaction.atomic
def user_create(*, email: str, password: str | None, name: str, is_staff: bool = False) -> User:
    """Create an active user; 409 ``already_exists`` when the email is taken (any case).

    ``password=None`` makes an account that cannot sign in (an unusable password): one a partner
    system created and acts for.
    """
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise _email_taken()
    candidate = User(email=email, name=name)
    if password is not None:
        try:
            validate_password(password, user=candidate)
        except DjangoValidationError as exc:
            # Keep Django's validator codes (password_too_common, …) as the stable error codes.
            errors = [ErrorDetail(" ".join(e.messages), code=e.code or "invalid") for e in exc.error_list]
            raise ValidationError({"password": errors}) from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name, is_staff=is_staff)
    except IntegrityError as exc:
        # Two registrations raced past the exists() check; the unique index decided.
        raise _email_taken() from exc


class InvalidRefreshToken(ApplicationError):
    status_code = 400
    default_code = "token_not_valid"
    default_detail = "Token is invalid or expired."


def refresh_token_blacklist(*, user: User, refresh: str) -> None:
    """Blacklist a refresh token that belongs to ``user`` (logout)."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise InvalidRefreshToken() from exc
    if str(token.get("user_id")) != str(user.pk):
        raise InvalidRefreshToken()
    token.blacklist()
