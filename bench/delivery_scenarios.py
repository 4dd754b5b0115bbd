"""Delivery scenarios of ``bench/run.py``: what a fully delivered rating costs, and one hanging host.

- **full**: N ratings (default 2 000) of 20 providers that each have email on (the default for
  ``rating.created``) and one webhook endpoint on a 204 receiver (nginx on loopback), posted
  open-loop at a steady rate through the API. The measurement window runs from the first POST
  until every rating has its inbox item, a sent email and a sent webhook (read from the
  database), and bills the CPU of every product process to its role: web (gunicorn master and
  workers), postgres (the backends of the bench database, the driver's own excluded), the
  Celery workers, the outbox dispatcher and beat. The receivers (smtp-sink, nginx) stand in for
  remote systems: their CPU is printed apart and not counted.
- **hang**: ten webhook receiver hosts, each the endpoint of its own provider, ratings posted
  round-robin at a fixed rate (default 25/s for 20 s); run once with all ten answering and once with the tenth accepting
  connections and never answering. Reported per run: webhook deliveries per second reaching the
  nine healthy hosts and their p50/p99 latency (rating commit to arrival), and the p99 ratio.
  The hosts are distinct IP literals 127.0.0.1 … 127.0.0.10 (all loopback on Linux): the
  breakers and concurrency slots are keyed by host name, and ``*.localhost`` names do not
  resolve on a machine without nss-myhostname.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from bench.notification_scenarios import _parse, _percentiles, _post_rating, _session
from bench.receivers import ArrivalReceivers, HangingHost
from bench.roles import RoleMeter

FULL_ENDPOINT = "CPU per fully delivered rating (inbox+email+webhook)"
HANG_ENDPOINTS = (
    "webhooks to 9 healthy hosts, all 10 answer",
    "webhooks to 9 healthy hosts, 1 of 10 hangs",
)
HANG_HOSTS = [f"127.0.0.{n}" for n in range(1, 11)]
# Below what this 2-core machine's stack sustains (~30 ratings/s with every delivery), so the
# all-healthy run is not queueing behind its own load and the hanging host's effect shows.
HANG_SECONDS = 20
# The full row's customers each rate every one of its providers, at most 20 ratings in a minute.
FULL_CUSTOMERS = 1000
PRODUCT_ROLES = ("web", "postgres", "worker", "delivery-worker", "dispatcher", "beat")


@dataclass
class Context:
    base_url: str
    # Customers who have rated none of the providers below. Each run takes its own slice: the
    # per-customer rating throttle (THROTTLE_RATING_SUBMIT, 30/min) would refuse a customer's
    # 31st rating within a minute.
    customer_tokens: list[str]
    full_providers: list[tuple[str, str]]  # (provider id, its user id)
    hang_providers: tuple[list[tuple[str, str]], list[tuple[str, str]]]  # one list per run
    access_token: Callable[[str], str]
    log: Callable[[str], None]
    quiesce: Callable[[], None]
    product_meter: RoleMeter
    receiver_meter: RoleMeter
    receivers: str  # which programs stand in for the SMTP server and the webhook receiver
    webhook_url: str  # the 204 receiver
    ratings: int
    rate: float  # ratings per second; 0 = as fast as 16 connections go
    hang_rate: float  # ratings per second of each hang run


def _register_webhook(ctx: Context, provider_user_id: str, url: str) -> None:
    response = requests.post(
        f"{ctx.base_url}/api/v1/notifications/webhooks/",
        json={"url": url, "event_types": ["rating.created"]},
        headers={"Authorization": f"Bearer {ctx.access_token(provider_user_id)}"},
        timeout=10,
    )
    if not response.ok:
        raise RuntimeError(f"webhook registration for {url} refused: {response.status_code} {response.text[:300]}")


def post_ratings(ctx: Context, jobs: list[tuple[str, str]], rate: float) -> tuple[dict[str, tuple], int]:
    """POST every (customer token, provider id); open loop at ``rate``/s, or 16 at a time if 0.

    Returns {rating id: (created_at, provider id)} and the number of failed POSTs.
    """
    ratings: dict[str, tuple[dt.datetime, str]] = {}
    errors = 0
    lock = threading.Lock()
    session = _session(64)

    def send(job: tuple[str, str]) -> None:
        nonlocal errors
        token, provider_id = job
        try:
            rating = _post_rating(session, ctx.base_url, token, provider_id)
        except requests.RequestException:
            with lock:
                errors += 1
            return
        with lock:
            ratings[rating["id"]] = (_parse(rating["created_at"]), provider_id)

    if rate <= 0:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(send, jobs))
    else:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i, job in enumerate(jobs):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, job)
    session.close()
    return ratings, errors


def _delivery_state(recipient_ids: list[str]) -> dict:
    """Inbox items and deliveries by channel and status of these recipients (the database)."""
    from django.db.models import Count

    from apps.notifications.models import Delivery, Notification

    state = {"inbox": Notification.objects.filter(recipient_id__in=recipient_ids).count()}
    rows = (
        Delivery.objects.filter(recipient_id__in=recipient_ids)
        .values_list("channel", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for channel, status, n in rows:
        state[f"{channel}:{status}"] = n
    return state


def _wait_delivered(ctx: Context, recipient_ids: list[str], expected: int, timeout: float = 300) -> dict:
    """Poll the database until ``expected`` inbox items, sent emails and sent webhooks exist."""
    deadline = time.monotonic() + timeout
    while True:
        state = _delivery_state(recipient_ids)
        if all(state.get(k, 0) >= expected for k in ("inbox", "email:sent", "webhook:sent")):
            return state
        if time.monotonic() > deadline:
            ctx.log(f"not everything delivered after {timeout:.0f}s: {state}")
            return state
        time.sleep(0.25)


def _ms(seconds: float, ratings: int) -> float:
    return round(seconds * 1000 / max(ratings, 1), 3)


def full_delivery_row(ctx: Context) -> dict:
    providers = ctx.full_providers
    for _, user_id in providers:
        _register_webhook(ctx, user_id, ctx.webhook_url)
    per_customer = len(providers)
    if ctx.ratings > per_customer * FULL_CUSTOMERS:
        raise RuntimeError("not enough customers for the full-delivery scenario")
    customers = ctx.customer_tokens[:FULL_CUSTOMERS]
    jobs = [(customers[i // per_customer], providers[i % per_customer][0]) for i in range(ctx.ratings)]
    recipients = [user_id for _, user_id in providers]
    ctx.quiesce()
    started = time.monotonic()
    ctx.product_meter.start()
    ctx.receiver_meter.start()
    try:
        ratings, post_errors = post_ratings(ctx, jobs, ctx.rate)
        posted_in = time.monotonic() - started
        state = _wait_delivered(ctx, recipients, len(ratings))
    finally:
        product = ctx.product_meter.stop()
        receivers = ctx.receiver_meter.stop()
    wall = time.monotonic() - started
    n = len(ratings)
    undelivered = sum(max(0, n - state.get(k, 0)) for k in ("inbox", "email:sent", "webhook:sent"))
    order = [role for role in PRODUCT_ROLES if role in product["seconds"]]
    order += sorted(set(product["seconds"]) - set(order))
    roles = {role: _ms(product["seconds"][role], n) for role in order}
    total = round(sum(roles.values()), 3)
    receiver_ms = round(sum(_ms(s, n) for s in receivers["seconds"].values()), 3)
    rate = f"{ctx.rate:.0f}/s" if ctx.rate > 0 else "16 conc"
    # Open loop: a stack slower than the offered rate posts slower (the driver waits for the
    # answers at the end), so the rate actually reached is printed beside the offered one.
    posted_rate = n / max(posted_in, 1e-9)
    split = ", ".join(f"{role} {ms}" for role, ms in roles.items())
    ctx.log(f"full delivery: {n} ratings posted in {posted_in:.1f}s, all delivered after {wall:.1f}s; {state}")
    return {
        "endpoint": FULL_ENDPOINT,
        "connections": rate,
        "cpu_ms_per_rating": total,
        "cpu_ms_per_rating_by_role": roles,
        "receiver_cpu_ms_per_rating": receiver_ms,
        "receivers": ctx.receivers,
        "ratings": n,
        "wall_s": round(wall, 1),
        "posted_in_s": round(posted_in, 1),
        "posted_per_s": round(posted_rate, 1),
        "exited_processes": {k: v for k, v in product["exited"].items() if v},
        "errors": post_errors + undelivered,
        "figure": (
            f"{total} ms CPU/rating ({split}) at {posted_rate:.0f} ratings/s; receivers {receiver_ms} ms, not counted"
        ),
        "note": "",
    }


def _hang_run(ctx: Context, providers: list[tuple[str, str]], customers: list[str], *, hanging: bool) -> dict:
    healthy_hosts = HANG_HOSTS[:-1] if hanging else HANG_HOSTS
    receivers = ArrivalReceivers(healthy_hosts)
    hang = HangingHost(HANG_HOSTS[-1]) if hanging else None
    try:
        urls = receivers.urls() + ([hang.url] if hang else [])
        for (_, user_id), url in zip(providers, urls, strict=True):
            _register_webhook(ctx, user_id, url)
        total = int(ctx.hang_rate * HANG_SECONDS)
        jobs = [(customers[i // len(providers)], providers[i % len(providers)][0]) for i in range(total)]
        healthy_providers = {provider_id for provider_id, _ in providers[:9]}
        ctx.quiesce()
        started = time.time()
        ratings, errors = post_ratings(ctx, jobs, ctx.hang_rate)
        posted_in = time.time() - started
        expected = {rid for rid, (_, provider_id) in ratings.items() if provider_id in healthy_providers}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with receivers.lock:
                if expected <= set(receivers.arrivals):
                    break
            time.sleep(0.25)
        with receivers.lock:
            arrivals = {rid: receivers.arrivals[rid] for rid in expected if rid in receivers.arrivals}
    finally:
        if hang:
            hang.close()
        receivers.close()
    # The hanging host's deliveries now fail fast (connection refused) and go to retry; the
    # emails of these ratings finish before the next measurement.
    ctx.quiesce()
    latencies = [(arrived - ratings[rid][0].timestamp()) * 1000 for rid, (_, arrived) in arrivals.items()]
    last = max((arrived for _, arrived in arrivals.values()), default=started)
    return {
        "endpoint": HANG_ENDPOINTS[1 if hanging else 0],
        "connections": f"{ctx.hang_rate:.0f}/s",
        "rps": len(arrivals) / max(last - started, 1e-9),
        **_percentiles(latencies),
        "errors": errors + len(expected) - len(arrivals),
        "posted_per_s": round(len(ratings) / max(posted_in, 1e-9), 1),
        "note": "",
    }


def hang_rows(ctx: Context) -> list[dict]:
    per_run = -(-int(ctx.hang_rate * HANG_SECONDS) // len(HANG_HOSTS))
    first = FULL_CUSTOMERS
    healthy = _hang_run(ctx, ctx.hang_providers[0], ctx.customer_tokens[first : first + per_run], hanging=False)
    ctx.log(f"10 healthy hosts: {healthy['rps']:.0f} deliveries/s to 9 of them, p99 {healthy.get('p99_ms', 0):.0f} ms")
    first += per_run
    hanging = _hang_run(ctx, ctx.hang_providers[1], ctx.customer_tokens[first : first + per_run], hanging=True)
    ctx.log(f"1 hanging host: {hanging['rps']:.0f} deliveries/s to the 9 others, p99 {hanging.get('p99_ms', 0):.0f} ms")
    if healthy.get("p99_ms") and hanging.get("p99_ms"):
        hanging["p99_ratio"] = round(hanging["p99_ms"] / healthy["p99_ms"], 2)
        hanging["rps_ratio"] = round(hanging["rps"] / healthy["rps"], 2)
    return [healthy, hanging]
