"""One normalisation for every email address the product takes in.

Sign-up (customer, provider), profile change, partner-created customers, sign-in and password
reset all go through ``email_normalize``, so an address has one stored form and uniqueness is
checked on it:

1. Unicode NFKC: compatibility forms become their plain letters (a fullwidth ``e`` an ``e``).
2. Refused (``email_confusable``): a local part or a domain label that mixes scripts (a Cyrillic
   ``a`` among Latin letters, in ``alice@`` or in ``example.com``): such an address imitates
   another one.
3. The local part must be ASCII (internationalised local parts, SMTPUTF8, are not supported:
   Django's validator and many relays refuse them), and is then lower-cased: mailbox names are
   treated as case-insensitive, as the large mail providers do, so ``Ann@`` and ``ann@`` are one
   account. ``ALİCE@`` (a Turkish dotted capital I) is refused, not folded into a form the
   validator rejects, and ``ß@`` is not turned into ``ss@`` (another mailbox) as full Unicode
   case folding would.
4. The domain is IDNA-encoded (UTS #46 mapping, so also lower-cased) and stored as ASCII:
   ``bücher.example`` → ``xn--bcher-kva.example``.
5. The result must pass Django's ``EmailValidator`` (what the model field checks).
"""

import unicodedata

import idna
from confusable_homoglyphs import confusables
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

CONFUSABLE_CODE = "email_confusable"
INVALID_CODE = "invalid"
INVALID_MESSAGE = "Enter a valid email address."
CONFUSABLE_MESSAGE = "This address mixes alphabets (for example a Cyrillic letter among Latin ones); type it in one."


def _invalid() -> ValidationError:
    return ValidationError(INVALID_MESSAGE, code=INVALID_CODE)


def _mixed(text: str) -> bool:
    # Digits, '-', '.', '+'… belong to the COMMON script and mix with any.
    return bool(text) and bool(confusables.is_mixed_script(text, allowed_aliases=["COMMON", "INHERITED"]))


def email_normalize(raw: str) -> str:
    """The stored form of ``raw``; ``ValidationError`` (code ``invalid`` or ``email_confusable``)."""
    if not isinstance(raw, str):
        raise _invalid()
    value = unicodedata.normalize("NFKC", raw).strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise _invalid()
    if _mixed(local) or any(_mixed(label) for label in domain.split(".")):
        raise ValidationError(CONFUSABLE_MESSAGE, code=CONFUSABLE_CODE)
    # Checked before folding: Unicode case folding would turn ``ß@`` into ``ss@``, another mailbox.
    if not local.isascii():
        raise _invalid()
    local = local.lower()
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise _invalid() from exc
    address = f"{local}@{domain}"
    validate_email(address)
    return address


def email_lookup_form(raw: str) -> str:
    """The form to look an account up by (sign-in, reset, throttles): the normalised address,
    or, for input that cannot be one, the input itself, stripped and lower-cased (it matches no
    account: every stored address is normalised)."""
    try:
        return email_normalize(raw)
    except ValidationError:
        return raw.strip().lower() if isinstance(raw, str) else ""
