"""The events the providers app publishes: typed and versioned, built once here, by the publisher.

Sent on a signal inside the transaction of the change, so a receiver in an app above (ratings
keeps a summary row per provider) writes atomically with it. docs/architecture.md is the
catalogue.
"""

from dataclasses import asdict, dataclass
from typing import ClassVar

from django.dispatch import Signal

from apps.providers.models import Provider

provider_registered = Signal()


@dataclass(frozen=True, kw_only=True)
class ProviderRegistered:
    """A provider profile was created (``provider_register``)."""

    TYPE: ClassVar[str] = "provider.registered"
    VERSION: ClassVar[int] = 1
    SIGNAL: ClassVar[Signal] = provider_registered

    provider_id: str

    def payload(self) -> dict:
        return asdict(self)


def publish(event: ProviderRegistered) -> None:
    """Send ``event`` on its signal, in the caller's transaction."""
    event.SIGNAL.send(sender=Provider, event=event.payload(), version=event.VERSION)


EVENT_TYPES = (ProviderRegistered,)
