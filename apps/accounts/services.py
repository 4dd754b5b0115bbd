from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import events
from apps.accounts.emails import email_lookup_form, email_normalize
from apps.accounts.models import DEFAULT_LOCALE, DataExport, User
from apps.accounts.revocation import user_tokens_revoke
from apps.accounts.selectors import user_by_link_uid
from apps.accounts.signals import user_deactivated, user_erasing
from apps.core import erasure
from apps.core.exceptions import AlreadyExists, ApplicationError, Conflict

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


def _normalized(email: str) -> str:
    """The stored form of an address (``apps.accounts.emails``), or a 400 on ``email``."""
    try:
        return email_normalize(email)
    except DjangoValidationError as exc:
        raise ValidationError({"email": [ErrorDetail(exc.messages[0], code=exc.code or "invalid")]}) from exc


@transaction.atomic
def user_create(
    *, email: str, password: str | None, name: str, is_staff: bool = False, locale: str = DEFAULT_LOCALE
) -> User:
    """Create an active user; 409 ``already_exists`` when the email is taken (any case).

    ``locale`` is the language of the user's notices (``locale_from_accept_language`` at sign-up).

    ``password=None`` makes an account that cannot sign in (an unusable password): one a partner
    system created and acts for.
    """
    email = _normalized(email)
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
            user = User.objects.create_user(email=email, password=password, name=name, is_staff=is_staff, locale=locale)
    except IntegrityError as exc:
        # Two registrations raced past the exists() check; the unique index decided.
        raise _email_taken() from exc
    except DjangoValidationError as exc:
        # The model's own checks (full_clean) are a 400 on their fields, never a 500.
        raise ValidationError(
            {
                field: [ErrorDetail(e.messages[0], code=e.code or "invalid") for e in errors]
                for field, errors in exc.error_dict.items()
            }
        ) from exc
    # Published before the verification email: the intake records a batch's locales before it
    # words the batch's notices, so that first email is already in the user's language.
    events.publish(events.LocaleSet.of(user))
    # Someone who registered confirms their address. An account a partner made cannot sign in;
    # its owner proves the address with the password reset that claims it.
    if password is not None:
        email_verification_send(user=user)
    return user


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


# --- Sessions --------------------------------------------------------------------------------


def refresh_tokens_revoke_all(*, user: User) -> int:
    """Blacklist every outstanding refresh token of ``user``; returns how many were live.

    Access tokens already issued stay valid until they expire (JWT_ACCESS_MINUTES): they are
    not looked up per request.
    """
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in live]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _token_pair(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _validate_new_password(password: str, *, user: User, attr: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors = [ErrorDetail(" ".join(e.messages), code=e.code or "invalid") for e in exc.error_list]
        raise ValidationError({attr: errors}) from exc


class WrongPassword(ApplicationError):
    status_code = 400
    default_code = "wrong_password"
    default_detail = "The current password is not correct."


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> dict:
    """Set a new password after checking the current one.

    Every refresh token of the user is revoked (this session's included, so a stolen one dies
    with the old password); the caller gets a fresh pair back.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password):
        raise WrongPassword()
    _validate_new_password(new_password, user=user, attr="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    refresh_tokens_revoke_all(user=user)
    return _token_pair(user)


# --- Signed links (password reset, email verification) -------------------------------------

_VERIFY_SALT = "accounts.email_verify"


class InvalidLink(ApplicationError):
    status_code = 400
    default_code = "link_invalid"
    # Lazy: the pages the links land on show it in their reader's language; the JSON API
    # activates no language and stays English.
    default_detail = gettext_lazy("This link is not valid: it was already used, or it is not one we sent.")


class ExpiredLink(ApplicationError):
    status_code = 400
    default_code = "link_expired"
    default_detail = gettext_lazy("This link has expired; ask for a new one.")


class _ResetTokens(PasswordResetTokenGenerator):
    """Django's reset tokens, telling an expired token from a used or forged one.

    The token hashes the password and last_login, so it stops matching once the password is
    set: single use by construction, with nothing stored.
    """

    def verdict(self, user: User, token: str) -> type[ApplicationError] | None:
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return InvalidLink
        secrets = [self.secret, *self.secret_fallbacks]
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token) for secret in secrets
        ):
            return InvalidLink
        if self._num_seconds(self._now()) - ts > settings.PASSWORD_RESET_TIMEOUT:
            return ExpiredLink
        return None


_reset_tokens = _ResetTokens()


def _uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def _link(template: str, *, uid: str, token: str) -> str:
    return template.format(uid=uid, token=token)


def _send_reset_link(user: User, *, purpose: str) -> None:
    uid, token = _uid(user), _reset_tokens.make_token(user)
    url = _link(settings.ACCOUNT_PASSWORD_RESET_URL, uid=uid, token=token)
    # Through the outbox like every email: committed with the request's transaction, sent by
    # the delivery engine with its retries, never from the request itself.
    events.publish(events.PasswordResetRequested.of(user, url=url, uid=uid, token=token, purpose=purpose))


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Email a reset link to an active account with this address; silently nothing otherwise.

    The caller answers the same either way, so the endpoint never tells whether an address has
    an account. An unclaimed account (a partner made it, it has no password) gets the link too,
    worded as a claim: setting the password claims it.
    """
    user = User.objects.filter(email__iexact=email_lookup_form(email), is_active=True).first()
    if user is None:
        return
    _send_reset_link(user, purpose="reset" if user.has_usable_password() else "claim")


@transaction.atomic
def account_claim_request(*, email: str) -> bool:
    """If ``email`` belongs to an unclaimed account (made without a password, by a partner),
    email its owner a link to claim it and return ``True``; ``False`` otherwise.

    Sign-up calls it first: the owner of the address gets the account the partner made for them
    (and the partner's record of it) instead of a 409. Following the link is a password reset:
    it sets their password and verifies the address (``password_reset_confirm``).
    """
    user = User.objects.select_for_update().filter(email__iexact=email_lookup_form(email), is_active=True).first()
    if user is None or user.has_usable_password():
        return False
    _send_reset_link(user, purpose="claim")
    return True


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """Set the password from a reset link; every refresh token of the user is revoked."""
    user = user_by_link_uid(uid=uid)
    if user is None:
        raise InvalidLink()
    user = User.objects.select_for_update().get(pk=user.pk)
    failure = _reset_tokens.verdict(user, token)
    if failure is not None:
        raise failure()
    _validate_new_password(new_password, user=user, attr="new_password")
    user.set_password(new_password)
    # Following the emailed link proves the address too.
    fields = ["password"]
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        fields.append("email_verified_at")
    user.save(update_fields=fields)
    refresh_tokens_revoke_all(user=user)


def email_verification_send(*, user: User) -> None:
    """Email ``user`` a link that marks their current address verified (no-op once verified)."""
    if user.email_verified_at is not None:
        return
    uid = _uid(user)
    # Signs the address itself: after an email change the old link verifies nothing.
    token = signing.dumps(user.email, salt=_VERIFY_SALT + str(user.pk), compress=True)
    url = _link(settings.ACCOUNT_EMAIL_VERIFY_URL, uid=uid, token=token)
    events.publish(events.EmailVerificationRequested.of(user, url=url, uid=uid, token=token))


class EmailAlreadyVerified(Conflict):
    default_code = "email_already_verified"
    default_detail = "This email address is verified already."


@transaction.atomic
def email_verification_resend(*, user: User) -> None:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.email_verified_at is not None:
        raise EmailAlreadyVerified()
    email_verification_send(user=user)


@transaction.atomic
def email_verify_confirm(*, uid: str, token: str) -> User:
    """Mark the address verified; confirming again (same link or another) changes nothing."""
    user = user_by_link_uid(uid=uid)
    if user is None:
        raise InvalidLink()
    user = User.objects.select_for_update().get(pk=user.pk)
    try:
        email = signing.loads(token, salt=_VERIFY_SALT + str(user.pk), max_age=settings.ACCOUNT_EMAIL_VERIFY_TIMEOUT)
    except signing.SignatureExpired as exc:
        raise ExpiredLink() from exc
    except signing.BadSignature as exc:
        raise InvalidLink() from exc
    if email != user.email:
        raise InvalidLink(gettext_lazy("This link was sent to an address the account no longer has."))
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Staff switched the account off (a ban): its refresh tokens are revoked, its access tokens
    refused from the commit on (``revocation``), and the apps above undo what its activity
    counted for (``signals.user_deactivated``: its helpful votes leave their counts). Switching
    it on again makes new tokens work; the votes stay withdrawn."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    refresh_tokens_revoke_all(user=user)
    user_tokens_revoke(user=user)
    user_deactivated.send(sender=User, user=user)


# --- Profile and erasure --------------------------------------------------------------------

_UNSET = object()
ERASED_NAME = "Deleted user"


@transaction.atomic
def user_update(*, user: User, name=_UNSET, email=_UNSET, password: str | None = None, locale=_UNSET) -> User:
    """Change the given fields; a new email needs the current password and is unverified
    until its own verification link is followed (one is sent). A new locale is published to
    the notifications app (``account.locale_set``) in the same transaction."""
    user = User.objects.select_for_update().get(pk=user.pk)
    fields = []
    if locale is not _UNSET and locale != user.locale:
        if locale not in dict(settings.LANGUAGES):
            # The API's serializers refuse it first; a service caller gets the same 400.
            raise ValidationError(
                {"locale": [ErrorDetail(f'"{locale}" is not a valid choice.', code="invalid_choice")]}
            )
        user.locale = locale
        fields.append("locale")
    if name is not _UNSET and name != user.name:
        user.name = name
        fields.append("name")
    if email is not _UNSET:
        email = _normalized(email)
        if email != user.email:
            # A stolen access token alone must not move the account (and its password resets)
            # to another mailbox.
            if not password or not user.check_password(password):
                raise WrongPassword("Changing the email address needs the current password.")
            if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
                raise _email_taken()
            user.email, user.email_verified_at = email, None
            fields += ["email", "email_verified_at"]
    if not fields:
        return user
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except IntegrityError as exc:
        raise _email_taken() from exc
    if "locale" in fields:
        events.publish(events.LocaleSet.of(user))
    if "email" in fields:
        email_verification_send(user=user)
    return user


@transaction.atomic
def user_erase(*, user: User, password: str) -> User:
    """Deactivate the account and erase its personal data, after checking the password.

    The row stays (what the user wrote keeps its author, shown as ``ERASED_NAME``): its email
    becomes ``<id>@ACCOUNT_ERASED_EMAIL_DOMAIN`` (unique, undeliverable), its password
    unusable, every refresh token is revoked. The apps above erase their copies in the same
    transaction (``signals.user_erasing``); the person's values in the outbox's events are
    replaced, their idempotency replays deleted. An ``account.deleted`` event, committed with
    it, tells the notifications app to drop the user's inbox, devices, webhooks and deliveries
    and to replace the person's name and words in everyone else's (docs/operations.md, Erasure).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(password):
        raise WrongPassword()
    return _erase(user)


ERASED_PROVIDER_NAME = "Deleted provider"


def _erase(user: User) -> User:
    user.email = f"{user.pk.hex}@{settings.ACCOUNT_ERASED_EMAIL_DOMAIN}"
    user.name = ERASED_NAME
    user.email_verified_at = None
    user.is_active = False
    user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    refresh_tokens_revoke_all(user=user)
    user_tokens_revoke(user=user)
    # What the apps above copied (ratings' comments, replies, reports…) goes in this same
    # transaction; they answer with the ids under which the notifications app finds its copies.
    facts: dict = {"rating_ids": [], "provider_id": None}
    for _receiver, answer in user_erasing.send(sender=User, user=user):
        if answer:
            facts.update(answer)
    erasure.outbox_events_redact(
        user_id=user.pk,
        rating_ids=facts["rating_ids"],
        provider_id=facts["provider_id"],
        customer_name=ERASED_NAME,
        provider_name=ERASED_PROVIDER_NAME,
    )
    erasure.idempotency_keys_delete(user_id=user.pk)
    # The data exports are copies of everything the person was: they go with the rest.
    DataExport.objects.filter(user=user).delete()
    erasure.admin_log_redact(object_ids=[user.pk], placeholder=ERASED_NAME)
    events.publish(
        events.AccountErased(
            recipient_user_id=str(user.pk),
            rating_ids=[str(r) for r in facts["rating_ids"]],
            provider_id=str(facts["provider_id"]) if facts["provider_id"] else None,
        )
    )
    return user
