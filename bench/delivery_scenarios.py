"""Delivery scenarios of ``bench/run.py``: what a fully delivered rating costs, and one hanging host.

- **full** (the rate sweep): 20 providers that each have email on (the default for
  ``rating.created``) and one webhook endpoint on a receiver in this process that logs each
  arrival; ratings posted open-loop through the API at each offered rate (default 50, 100, 200
  and 400 per second, 30 s each). Per rate, the window runs from the first POST until every
  rating has its inbox item, a sent email and its webhook received, and bills the CPU of every
  product process to its role: web (gunicorn master and workers), postgres (the backends of the
  bench database, the driver's own excluded), the Celery workers, the outbox dispatcher and
  beat. The receivers stand in for remote systems: their CPU is printed apart and not counted.
  Also per rate: commit -> inbox row and commit -> webhook received p50/p99, the drain time after
  the last POST, and the sizes of the batches the events (outbox) and deliveries travelled in.
- **hang**: ten webhook receiver hosts, each the endpoint of its own provider, ratings posted
  round-robin at a fixed rate (default 25/s for 20 s); run once with all ten answering and once with the tenth accepting
  connections and never answering. Reported per run: webhook deliveries per second reaching the
  nine healthy hosts and their p50/p99 latency (rating commit to arrival), and the p99 ratio.
  The hosts are distinct IP literals 127.0.0.1 … 127.0.0.10 (all loopback on Linux): distinct
  origins for the breakers and concurrency slots, and ``*.localhost`` names do not resolve on a
  machine without nss-myhostname. Then the **same host** pair: the ten endpoints are paths of
  one receiver (one host, one port: one origin, as a SaaS with a path per customer), run once
  with all ten answering and once with the tenth path reading each request and never
  answering; the hanging run's p99 is compared with the all-answering run on that same origin
  (ten endpoints share its concurrency slots, which ten hosts do not). The endpoints share the
  origin's breaker and slots, so what holds the hanging endpoint (its own breaker, its share of
  the slots) must leave the nine others alone.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.notification_scenarios import _parse, _percentiles, _post_rating, _session
from bench.receivers import ArrivalProcess, ArrivalReceivers, HangingHost
from bench.roles import RoleMeter

FULL_ENDPOINT = "CPU per fully delivered rating (inbox+email+webhook)"
HANG_ENDPOINTS = (
    "webhooks to 9 healthy hosts, all 10 answer",
    "webhooks to 9 healthy hosts, 1 of 10 hangs",
    "webhooks to 9 endpoints on one host and port, all 10 answer",
    "webhooks to 9 healthy endpoints, 1 of 10 on the same host and port hangs",
)
HANG_HOSTS = [f"127.0.0.{n}" for n in range(1, 11)]
# Below what this 2-core machine's stack sustains (~30 ratings/s with every delivery), so the
# all-healthy run is not queueing behind its own load and the hanging host's effect shows.
HANG_SECONDS = 20
# The full row's customers each rate every one of its providers, at most 20 ratings in a minute.
FULL_CUSTOMERS = 1000
# The rate whose figures the full, latency-inbox and latency-webhook rows carry.
REFERENCE_RATE = 200
PRODUCT_ROLES = ("web", "postgres", "worker", "delivery-worker", "dispatcher", "beat")


@dataclass
class Context:
    base_url: str
    # Customers who have rated none of the providers below. Each run takes its own slice: the
    # per-customer rating throttle (THROTTLE_RATING_SUBMIT, 30/min) would refuse a customer's
    # 31st rating within a minute.
    customer_tokens: list[str]
    full_providers: list[tuple[str, str]]  # (provider id, its user id)
    hang_providers: tuple[list[tuple[str, str]], ...]  # one list per run (four runs)
    access_token: Callable[[str], str]
    log: Callable[[str], None]
    quiesce: Callable[[], None]
    product_meter: RoleMeter
    receiver_meter: RoleMeter
    receivers: str  # which programs stand in for the SMTP server and the webhook receiver
    workdir: Path
    rates: list[float]  # ratings per second offered, one run each
    rate_seconds: float  # how long each rate is offered
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


def _histogram(sizes: list[int]) -> dict[str, int]:
    """Batch sizes in powers-of-two buckets: {"1": n, "2-3": n, "4-7": n, …}."""
    buckets: dict[str, int] = {}
    for size in sorted(sizes):
        low = 1 << (size.bit_length() - 1)
        label = "1" if low == 1 else f"{low}-{2 * low - 1}"
        buckets[label] = buckets.get(label, 0) + 1
    return buckets


def _batch_sizes(since: dt.datetime, recipient_ids: list[str]) -> dict[str, dict[str, int]]:
    """The batches the window's events and deliveries travelled in, read back from the database.

    One outbox batch is marked dispatched by one UPDATE (one ``dispatched_at``); one delivery
    batch is claimed by one UPDATE (one ``last_attempt_at`` per channel).
    """
    from django.db.models import Count

    from apps.core.models import OutboxEvent
    from apps.notifications.models import Delivery

    outbox = (
        OutboxEvent.objects.filter(created_at__gte=since, dispatched_at__isnull=False)
        .values("dispatched_at")
        .annotate(n=Count("id"))
        .order_by()
    )
    deliveries = (
        Delivery.objects.filter(recipient_id__in=recipient_ids, created_at__gte=since, last_attempt_at__isnull=False)
        .values("channel", "last_attempt_at")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_channel: dict[str, list[int]] = {}
    for row in deliveries:
        by_channel.setdefault(row["channel"], []).append(row["n"])
    return {"outbox": _histogram([row["n"] for row in outbox])} | {
        channel: _histogram(sizes) for channel, sizes in sorted(by_channel.items())
    }


def _inbox_latencies(since: dt.datetime, ratings: dict[str, tuple], recipient_ids: list[str]) -> list[float]:
    from apps.notifications.models import Notification

    rows = Notification.objects.filter(recipient_id__in=recipient_ids, created_at__gte=since).values_list(
        "data__rating_id", "created_at"
    )
    return [(created - ratings[rid][0]).total_seconds() * 1000 for rid, created in rows if rid in ratings]


def _rate_run(ctx: Context, rate: float, customers: list[str], receivers: ArrivalProcess) -> dict:
    providers = ctx.full_providers
    recipients = [user_id for _, user_id in providers]
    total = int(rate * ctx.rate_seconds)
    jobs = [(customers[i // len(providers)], providers[i % len(providers)][0]) for i in range(total)]
    ctx.quiesce()
    before = _delivery_state(recipients)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    started = time.monotonic()
    ctx.product_meter.start()
    ctx.receiver_meter.start()
    try:
        ratings, post_errors = post_ratings(ctx, jobs, rate)
        posted_in = time.monotonic() - started
        expected = {k: before.get(k, 0) + len(ratings) for k in ("inbox", "email:sent", "webhook:sent")}
        deadline = time.monotonic() + 300
        while True:
            state = _delivery_state(recipients)
            with receivers.lock:
                arrived = sum(1 for rid in ratings if rid in receivers.arrivals)
            if all(state.get(k, 0) >= n for k, n in expected.items()) and arrived >= len(ratings):
                break
            if time.monotonic() > deadline:
                ctx.log(f"{rate:.0f}/s: not everything delivered after 300 s: {state}")
                break
            time.sleep(0.1)
    finally:
        product = ctx.product_meter.stop()
        receivers_cpu = ctx.receiver_meter.stop()
    wall = time.monotonic() - started
    n = len(ratings)
    undelivered = sum(max(0, n_expected - state.get(k, 0)) for k, n_expected in expected.items())
    order = [role for role in PRODUCT_ROLES if role in product["seconds"]]
    order += sorted(set(product["seconds"]) - set(order))
    roles = {role: _ms(product["seconds"][role], n) for role in order}
    cpu = round(sum(roles.values()), 3)
    with receivers.lock:
        arrivals = {rid: receivers.arrivals[rid][1] for rid in ratings if rid in receivers.arrivals}
    webhook = [(arrived - ratings[rid][0].timestamp()) * 1000 for rid, arrived in arrivals.items()]
    inbox = _inbox_latencies(since, ratings, recipients)
    achieved = (n - undelivered / 3) / max(wall, 1e-9)
    result = {
        "offered_per_s": rate,
        "posted_per_s": round(n / max(posted_in, 1e-9), 1),
        "achieved_per_s": round(achieved, 1),
        "ratings": n,
        "cpu_ms_per_rating": cpu,
        "cpu_ms_per_rating_by_role": roles,
        "receiver_cpu_ms_per_rating": round(sum(_ms(s, n) for s in receivers_cpu["seconds"].values()), 3),
        "inbox": _percentiles(inbox),
        "webhook": _percentiles(webhook),
        "drained_after_s": round(wall - posted_in, 2),
        "batches": _batch_sizes(since, recipients),
        "exited_processes": {k: v for k, v in product["exited"].items() if v},
        "errors": post_errors + undelivered,
    }
    ctx.log(
        f"{rate:.0f}/s offered: {result['achieved_per_s']}/s fully delivered, {cpu} ms CPU/rating {roles}, "
        f"inbox p50/p99 {result['inbox'].get('p50_ms', 0):.0f}/{result['inbox'].get('p99_ms', 0):.0f} ms, "
        f"webhook p50/p99 {result['webhook'].get('p50_ms', 0):.0f}/{result['webhook'].get('p99_ms', 0):.0f} ms, "
        f"drained {result['drained_after_s']} s after the last POST, batches {result['batches']}"
    )
    return result


def rate_sweep_rows(ctx: Context) -> list[dict]:
    """The full pipeline (inbox + email + webhook for every rating) offered open-loop at each of
    ``ctx.rates`` for ``ctx.rate_seconds`` each: one row per rate, then the ``full``,
    ``latency-inbox`` and ``latency-webhook`` rows of the reference rate (200/s, or the
    nearest one run)."""
    providers = ctx.full_providers
    receivers = ArrivalProcess("127.0.0.1", ctx.workdir)
    runs: dict[float, dict] = {}
    try:
        url = receivers.urls()[0]
        for _, user_id in providers:
            _register_webhook(ctx, user_id, url)
        # Each run its own customers (from the end of the list: the full and hang rows take the
        # first ones): a customer rates each provider once and at most 30 times a minute.
        offset = len(ctx.customer_tokens)
        for rate in ctx.rates:
            needed = -(-int(rate * ctx.rate_seconds) // len(providers))
            if needed > offset:
                raise RuntimeError(f"not enough customers for {rate}/s over {ctx.rate_seconds} s")
            customers = ctx.customer_tokens[offset - needed : offset]
            offset -= needed
            runs[rate] = _rate_run(ctx, rate, customers, receivers)
    finally:
        receivers.close()
    rows = [
        {
            "endpoint": f"full pipeline @{rate:.0f}/s offered",
            "connections": f"{rate:.0f}/s",
            "scenario": f"rate-{rate:.0f}",
            **run,
            "figure": (
                f"{run['achieved_per_s']}/s, {run['cpu_ms_per_rating']} ms CPU/rating, inbox p99 "
                f"{run['inbox'].get('p99_ms', 0):.0f} ms, webhook p99 {run['webhook'].get('p99_ms', 0):.0f} ms"
            ),
            "note": "",
        }
        for rate, run in runs.items()
    ]
    reference = min(runs, key=lambda rate: abs(rate - REFERENCE_RATE))
    run = runs[reference]
    common = {
        "connections": f"{reference:.0f}/s",
        "offered_per_s": reference,
        "achieved_per_s": run["achieved_per_s"],
        "cpu_ms_per_rating": run["cpu_ms_per_rating"],
        "errors": run["errors"],
        "note": "",
    }
    rows.append(
        {
            "endpoint": FULL_ENDPOINT,
            "scenario": "full",
            **common,
            "cpu_ms_per_rating_by_role": run["cpu_ms_per_rating_by_role"],
            "p99_ms": run["webhook"].get("p99_ms", 0.0),
            "figure": (
                f"{run['cpu_ms_per_rating']} ms CPU/rating at {run['achieved_per_s']}/s of {reference:.0f}/s offered"
            ),
        }
    )
    for scenario, endpoint, key in (
        ("latency-inbox", "rating commit -> inbox row", "inbox"),
        ("latency-webhook", "rating commit -> webhook received", "webhook"),
    ):
        latency = run[key]
        figure = f"p50 {latency.get('p50_ms', 0):.0f} / p99 {latency.get('p99_ms', 0):.0f} ms"
        rows.append(
            {"endpoint": f"{endpoint} @{reference:.0f}/s", "scenario": scenario, **common, **latency, "figure": figure}
        )
    return rows


def _hang_run(
    ctx: Context, providers: list[tuple[str, str]], customers: list[str], *, hanging: bool, same_host: bool = False
) -> dict:
    hang = None
    if same_host:
        # One origin, ten endpoints (paths); the tenth never answers.
        receivers = ArrivalReceivers(HANG_HOSTS[:1], hang_path=f"/hook/{len(providers) - 1}" if hanging else None)
        [origin] = receivers.urls("")
        urls = [f"{origin}/hook/{n}" for n in range(len(providers))]
    else:
        healthy_hosts = HANG_HOSTS[:-1] if hanging else HANG_HOSTS
        receivers = ArrivalReceivers(healthy_hosts)
        hang = HangingHost(HANG_HOSTS[-1]) if hanging else None
        urls = receivers.urls() + ([hang.url] if hang else [])
    try:
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
        "endpoint": HANG_ENDPOINTS[2 * same_host + hanging],
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
    first += per_run
    one_host = _hang_run(
        ctx, ctx.hang_providers[2], ctx.customer_tokens[first : first + per_run], hanging=False, same_host=True
    )
    ctx.log(
        f"10 endpoints on one host: {one_host['rps']:.0f} deliveries/s to 9, p99 {one_host.get('p99_ms', 0):.0f} ms"
    )
    first += per_run
    same_host = _hang_run(
        ctx, ctx.hang_providers[3], ctx.customer_tokens[first : first + per_run], hanging=True, same_host=True
    )
    ctx.log(
        f"1 hanging endpoint beside 9 on one host: {same_host['rps']:.0f} deliveries/s to the 9 others, "
        f"p99 {same_host.get('p99_ms', 0):.0f} ms"
    )
    for run, base in ((hanging, healthy), (same_host, one_host)):
        if base.get("p99_ms") and run.get("p99_ms"):
            run["p99_ratio"] = round(run["p99_ms"] / base["p99_ms"], 2)
            run["rps_ratio"] = round(run["rps"] / base["rps"], 2)
    return [healthy, hanging, one_host, same_host]
