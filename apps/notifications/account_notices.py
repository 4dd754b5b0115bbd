"""The account emails' notices (critical, email only): a password reset or an account claim, an
address to confirm, a data export ready. Each carries a signed link only the email may hold
(``Notice.secret``)."""

from uuid import UUID

from django.utils.translation import gettext as _

from apps.notifications.notice import Notice


def _link(data: dict) -> dict:
    link = data["link"]
    return {"url": str(link["url"]), "uid": str(link["uid"]), "token": str(link["token"])}


def password_reset(data: dict) -> list[Notice]:
    if data.get("purpose") == "claim":
        title = _("Claim your Marketplace Ratings account")
        body = _(
            "An account was created for this address by a marketplace you use. Set a password to claim it; "
            "if it was not you who asked, ignore the email."
        )
    else:
        title = _("Reset your Marketplace Ratings password")
        body = _("A password reset was requested for your account. If it was not you, ignore the email.")
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=title,
            body=body,
            data={},
            email=data.get("recipient_email", ""),
            secret=_link(data),
        )
    ]


def email_verify(data: dict) -> list[Notice]:
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=_("Confirm your email address"),
            body=_("Confirm that this address belongs to your Marketplace Ratings account."),
            data={},
            email=data.get("recipient_email", ""),
            secret=_link(data),
        )
    ]


def export_ready(data: dict) -> list[Notice]:
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=_("Your Marketplace Ratings data export is ready"),
            body=_("Download it before %(when)s UTC; the link stops working then.")
            % {"when": data["expires_at"][:16].replace("T", " ")},
            data={},
            email=data.get("recipient_email", ""),
            secret=_link(data),
        )
    ]
