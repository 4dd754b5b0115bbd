"""What delivery results mean beyond their deliveries, told to whoever listens.

The engine knows deliveries and channels and nothing above them: a device whose token is gone,
an endpoint that answers again, or has failed for too long, are the business of the wings that
keep those subscriptions. The engine reports each group's outcomes here; the intake registers
its listener at start-up (``NotificationsConfig.ready``) and acts on them in one transaction
(endpoint health, the ``webhook.disabled`` notice, retired devices). The intake imports the
engine; the engine imports neither, so no arrow points back up.
"""

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from apps.notifications.delivery.channels.base import Result


@dataclass(frozen=True)
class Outcome:
    """One send's result, with the subscription it went through (if any)."""

    channel: str
    result: Result
    endpoint_id: UUID | None = None
    device_id: UUID | None = None


Listener = Callable[[list[Outcome]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Be told every group's outcomes (once per listener, however often it registers)."""
    if listener not in _listeners:
        _listeners.append(listener)


def report(outcomes: list[Outcome]) -> None:
    """Tell the listeners, after the outcomes are recorded on their deliveries."""
    if not outcomes:
        return
    for listener in _listeners:
        listener(outcomes)
