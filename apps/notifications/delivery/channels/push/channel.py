"""The push channel: one delivery per device, through the push gateways in priority order."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from apps.notifications.delivery.channels.base import (
    AttemptLine,
    Result,
    SendResult,
    elapsed_ms,
    provider_rows,
    reopens_at,
)
from apps.notifications.delivery.channels.push import gateway as push
from apps.notifications.models import Blame, Channel, Delivery, DeliveryProvider
from apps.notifications.outbound import breakers


def _provider(row: DeliveryProvider) -> push.Provider:
    return push.Provider(
        id=str(row.pk),
        name=row.name,
        kind=row.kind,
        endpoint=row.endpoint,
        credential=(row.credentials or {}).get("token", ""),
        priority=row.priority,
        enabled=row.enabled,
    )


def attempt_lines(attempts: list[push.ProviderAttempt]) -> list[AttemptLine]:
    return [
        AttemptLine(target=a.provider_name, outcome=a.outcome, provider_id=a.provider_id, error=a.detail[:2000])
        for a in attempts
    ]


class PushSession:
    def __init__(self, providers: list[push.Provider]) -> None:
        self.providers = providers
        self.gate = breakers.Gate()

    def send(self, delivery: Delivery) -> SendResult:
        device = delivery.device
        if device is None:
            return SendResult(result=Result.DEAD, error="the device was removed")
        content = delivery.content
        message = push.PushMessage(
            message_id=f"{delivery.event_id}.{device.pk}",
            token=device.token,
            platform=device.platform,
            title=content["title"],
            body=content["body"],
            data={"type": content["type"], **content["data"]} if content["type"] else {},
        )
        started = time.monotonic()
        try:
            sent = push.deliver_with_fallback(providers=self.providers, message=message, gate=self.gate)
        except push.DeviceGone as exc:
            name = next((p.name for p in self.providers if p.id == exc.provider_id), exc.provider_id)
            line = AttemptLine(
                target=name, outcome="gone", provider_id=exc.provider_id, duration_ms=elapsed_ms(started)
            )
            return SendResult(result=Result.GONE, error=str(exc), provider_id=exc.provider_id, lines=[line])
        except push.AllProvidersOpen as exc:
            keys = [breakers.provider_key(a.provider_id) for a in exc.attempts]
            until = reopens_at(keys)
            return SendResult(
                result=Result.SKIPPED,
                error=str(exc),
                reschedule_at=until,
                lines=attempt_lines(exc.attempts),
                requeue=any(breakers.come_back_once(key, at=until) for key in keys),
            )
        except push.AllProvidersFailed as exc:
            # Every gateway refused this very message: sending it again cannot succeed.
            result = Result.DEAD if exc.permanent else Result.RETRY
            # A gateway failed (rather than refused the message): when one answers again, this
            # push may go at once.
            failed = any(a.outcome == "failed" and not a.permanent for a in exc.attempts)
            return SendResult(
                result=result,
                error=str(exc)[:2000],
                lines=attempt_lines(exc.attempts),
                blamed=Blame.PROVIDER if failed else Blame.NONE,
            )
        lines = attempt_lines(sent.attempts)
        if lines:
            lines[-1] = AttemptLine(**{**vars(lines[-1]), "duration_ms": elapsed_ms(started)})
        return SendResult(result=Result.SENT, provider_id=sent.provider.id, lines=lines)


class PushChannel:
    channel = Channel.PUSH

    def destination(self, delivery: Delivery) -> str:
        # The gateways are shared by every device; their breakers isolate a failing one.
        return "push"

    @contextlib.contextmanager
    def session(self) -> Iterator[PushSession]:
        yield PushSession([_provider(row) for row in provider_rows(Channel.PUSH)])
