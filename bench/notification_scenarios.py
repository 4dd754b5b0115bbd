"""The notification scenarios of ``bench/run.py``, written against the API contract (DESIGN §4).

They run only when ``apps.notifications`` is in ``INSTALLED_APPS`` (run.py prints "not
available" rows otherwise) and use nothing but HTTP, so they do not depend on how the
notifications app names its models:

- **inbox**: a provider receives 1 000 notifications (1 000 ratings posted through the API by
  distinct customers, delivered by the real Celery worker), then wrk reads
  ``GET /api/v1/notifications/`` as that provider.
- the latency of the whole pipeline is measured by the rate sweep of
  ``bench/delivery_scenarios.py`` (scenario ``full``, alias ``latency``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

INBOX_ENDPOINT = "GET /api/v1/notifications/ (1,000 in inbox)"
INBOX_SIZE = 1000


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
