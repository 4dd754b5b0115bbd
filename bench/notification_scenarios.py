"""The notification scenarios of ``bench/run.py``, written against the API contract (DESIGN §4).

They run only when ``apps.notifications`` is in ``INSTALLED_APPS`` (run.py prints "not
available" rows otherwise) and use nothing but HTTP, so they do not depend on how the
notifications app names its models:

- **inbox**: a provider receives 1 000 notifications (1 000 ratings posted through the API by
  distinct customers, delivered by the real Celery worker), then wrk reads
  ``GET /api/v1/notifications/`` as that provider.
- **latency**: an open-loop driver posts ratings for one provider at a fixed rate; the
  provider's webhook points at a receiver on loopback. Latency to the inbox is the inbox row's
  ``created_at`` minus the rating's ``created_at`` (both from the API, both stamped by the
  database host's clock); latency to the webhook is the arrival time at the receiver minus the
  rating's ``created_at``. The rating's ``created_at`` is stamped just before its commit, so
  both figures are a slight over-estimate, never an under-estimate.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.receivers import ArrivalReceivers

INBOX_ENDPOINT = "GET /api/v1/notifications/ (1,000 in inbox)"
LATENCY_ENDPOINTS = ("rating commit -> inbox row @100/s", "rating commit -> webhook received @100/s")
INBOX_SIZE = 1000
RATE_PER_S = 100
LATENCY_SECONDS = 10


@dataclass
class Context:
    base_url: str
    customer_tokens: list[str]  # customers that have rated nothing; each posts at most once
    inbox_provider: tuple[str, str]  # (provider id, its user id)
    latency_provider: tuple[str, str]
    access_token: Callable[[str], str]
    run_wrk: Callable[..., dict]
    duration: int
    log: Callable[[str], None]
    quiesce: Callable[[], None]  # returns once no event or delivery is still in flight
    worker_cpu: Callable[[], float]  # CPU seconds used so far by Celery, the dispatcher and beat
    _next_customer: int = field(default=0)

    def take_customers(self, count: int) -> list[str]:
        if self._next_customer + count > len(self.customer_tokens):
            raise RuntimeError("not enough unused customers for the notification scenarios")
        chosen = self.customer_tokens[self._next_customer : self._next_customer + count]
        self._next_customer += count
        return chosen


def _session(pool: int) -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool)
    session.mount("http://", adapter)
    return session


def _post_rating(session: requests.Session, base_url: str, token: str, provider_id: str) -> dict:
    response = session.post(
        f"{base_url}/api/v1/ratings/",
        json={"provider_id": provider_id, "score": 4, "comment": "bench"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _inbox(base_url: str, token: str) -> list[dict]:
    """Every notification of the token's user, newest first, through the cursor pages."""
    items, url = [], f"{base_url}/api/v1/notifications/?page_size=100"
    while url:
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        response.raise_for_status()
        page = response.json()
        items += page["results"]
        url = page["next"]
    return items


def _unread(base_url: str, token: str) -> int:
    response = requests.get(
        f"{base_url}/api/v1/notifications/unread-count/", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()["unread"]


def _wait_for_inbox(ctx: Context, token: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _unread(ctx.base_url, token) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"inbox did not reach {count} notifications within {timeout}s")
        time.sleep(0.5)


def _parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {}
    ordered = sorted(values_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50_ms": cuts[49], "p90_ms": cuts[89], "p99_ms": cuts[98], "samples": len(ordered)}


def inbox_rows(ctx: Context, connection_levels: list[int]) -> list[dict]:
    provider_id, provider_user_id = ctx.inbox_provider
    token = ctx.access_token(provider_user_id)
    with ThreadPoolExecutor(max_workers=16) as pool, _session(16) as session:
        list(pool.map(lambda t: _post_rating(session, ctx.base_url, t, provider_id), ctx.take_customers(INBOX_SIZE)))
    _wait_for_inbox(ctx, token, INBOX_SIZE)
    # The 1 000 emails of those ratings must be out before wrk starts, or it measures them too.
    ctx.quiesce()
    ctx.log(f"inbox of the provider holds {INBOX_SIZE} notifications; nothing left in flight")
    rows = []
    for connections in connection_levels:
        measured = ctx.run_wrk(
            ctx.base_url,
            "get.lua",
            connections=connections,
            duration=ctx.duration,
            env={"BENCH_PATH": "/api/v1/notifications/", "BENCH_TOKEN": token},
        )
        rows.append({"endpoint": INBOX_ENDPOINT, "connections": connections, **measured, "note": ""})
    return rows


def latency_rows(ctx: Context) -> list[dict]:
    """Open loop: post at RATE_PER_S whatever the responses do; measure commit -> inbox/webhook."""
    provider_id, provider_user_id = ctx.latency_provider
    token = ctx.access_token(provider_user_id)
    # A receiver with HTTP/1.1 keep-alive, as real ones have: the engine reuses connections.
    receiver = ArrivalReceivers(["127.0.0.1"])
    rows = []
    try:
        (hook_url,) = receiver.urls()
        created = requests.post(
            f"{ctx.base_url}/api/v1/notifications/webhooks/",
            json={"url": hook_url, "event_types": ["rating.created"]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        webhook_note = "" if created.ok else f"not available: webhook registration refused ({created.status_code})"

        total = RATE_PER_S * LATENCY_SECONDS
        customers = ctx.take_customers(total)
        ratings: dict[str, dt.datetime] = {}
        errors = 0
        lock = threading.Lock()
        session = _session(64)
        ctx.quiesce()
        cpu_before = ctx.worker_cpu()

        def send(token_: str) -> None:
            nonlocal errors
            try:
                rating = _post_rating(session, ctx.base_url, token_, provider_id)
            except requests.RequestException:
                with lock:
                    errors += 1
                return
            with lock:
                ratings[rating["id"]] = _parse(rating["created_at"])

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i, customer_token in enumerate(customers):
                delay = start + i / RATE_PER_S - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, customer_token)
        _wait_for_inbox(ctx, token, len(ratings))
        ctx.quiesce()  # every delivery sent (or retrying: then counted missing below)
        worker_cpu_ms = round((ctx.worker_cpu() - cpu_before) * 1000 / max(len(ratings), 1), 2)
        ctx.log(f"notification processes' CPU per rating (ingest + email + webhook): {worker_cpu_ms} ms")

        inbox_ms = []
        for item in _inbox(ctx.base_url, token):
            rating_id = str((item.get("data") or {}).get("rating_id", ""))
            if rating_id in ratings:
                inbox_ms.append((_parse(item["created_at"]) - ratings[rating_id]).total_seconds() * 1000)
        with receiver.lock:
            arrivals = dict(receiver.arrivals)
        hook_ms = [
            (arrived - ratings[rid].timestamp()) * 1000 for rid, (_, arrived) in arrivals.items() if rid in ratings
        ]
        missing_inbox = len(ratings) - len(inbox_ms)
        rows.append(
            {
                "endpoint": LATENCY_ENDPOINTS[0],
                "connections": "open",
                "rps": RATE_PER_S,
                **_percentiles(inbox_ms),
                "errors": errors + missing_inbox,
                "worker_cpu_ms_per_rating": worker_cpu_ms,
                "note": "",
            }
        )
        if webhook_note:
            rows.append({"endpoint": LATENCY_ENDPOINTS[1], "connections": "open", "note": webhook_note})
        else:
            rows.append(
                {
                    "endpoint": LATENCY_ENDPOINTS[1],
                    "connections": "open",
                    "rps": RATE_PER_S,
                    **_percentiles(hook_ms),
                    "errors": errors + len(ratings) - len(hook_ms),
                    "note": "",
                }
            )
    finally:
        receiver.close()
    return rows
