"""Resident memory of the web role's workers after a light mix of the hot requests.

``make bench`` ends by reading the web workers' RSS, but it is a 10-minute, CPU-bound run. This
script answers the same question at a low, steady rate that leaves a shared machine usable:

1. creates its own PostgreSQL database ``mr_rss_<pid>`` (flushes Redis DB ``--redis-db``, 8 by
   default), migrates, seeds with ``bench/run.py``'s bulk SQL (``--big`` customers; a provider
   with 10 ratings and one with ``--big``) and puts 1,000 items in one provider's inbox;
2. starts ``python -m config.server web`` with ``config.settings.bench`` on a free loopback port,
   as ``bench/run.py`` does;
3. sends ``--requests`` requests from ``--clients`` threads, at ``--rate`` requests a second in
   all, round-robin over the rows of the benchmark: POST a rating, the rating summary, the
   provider directory (``?ordering=-average&page_size=20``), the inbox, a rating search and
   the rating metrics;
4. prints each worker's RSS (``VmRSS`` of the granian master's children, as ``worker_rss`` in
   ``bench/run.py`` reads it, with the anonymous / file-backed split and the peak, ``VmHWM``)
   after start, right after the load and after a few idle seconds, and the workers' CPU
   (utime + stime) per request;
5. stops the server and drops the database, whatever happens.

``--env KEY=VALUE`` (repeatable) sets a variable for the server only, to compare a setting
without editing anything: ``python bench/web_rss.py --env MALLOC_ARENA_MAX=8``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.roles import DRIVER_APPLICATION_NAME, cpu_seconds  # noqa: E402
from bench.run import (  # noqa: E402
    N_GENERAL_PROVIDERS,
    N_POST_CUSTOMERS,
    PG_HOST,
    PG_PORT,
    PG_USER,
    Stack,
    access_token,
    free_port,
    psql,
    seed,
    stack_env,
    uuid_py,
    wait_http,
)

INBOX_SIZE = 1000
IDLE_SECONDS = 3


def log(message: str) -> None:
    print(f"[web_rss {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=4000, help="requests in all (default 4000)")
    p.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--rate", type=float, default=150, help="requests a second in all (default 150)")
    p.add_argument("--workers", type=int, default=2, help="web worker processes (default 2)")
    p.add_argument("--threads", type=int, default=2, help="threads per web worker (default 2, as production)")
    p.add_argument("--big", type=int, default=10_000, help="ratings of the largest provider (default 10000)")
    p.add_argument("--redis-db", type=int, default=8)
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="for the server only")
    return p.parse_args()


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def memory(pid: int) -> dict[str, float]:
    """VmRSS, its anonymous / file-backed parts and its peak (VmHWM), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
            number = int(value.split()[0])
            fields[key] = number if key == "Threads" else number / 1024
    return fields


def report(label: str, master_pid: int) -> None:
    for pid in sorted(children(master_pid)):
        m = memory(pid)
        print(
            f"{label:<14} worker {pid}: RSS {m['VmRSS']:6.1f} MiB "
            f"(anon {m['RssAnon']:6.1f}, file {m['RssFile']:5.1f}; peak {m['VmHWM']:6.1f}), {m['Threads']} threads",
            flush=True,
        )


def seed_inbox(recipient_id: str, provider_id: str) -> None:
    """The inbox of one provider: what 1,000 ratings would have left there."""
    from apps.notifications.models import Notification

    Notification.objects.bulk_create(
        Notification(
            recipient_id=recipient_id,
            event_id=uuid.uuid4(),
            type="rating.created",
            title=f"New rating: {1 + n % 5} stars from Customer {n}",
            body="Arrived on time and fixed the leak under the sink. Would book again.",
            data={"rating_id": str(uuid.uuid4()), "provider_id": provider_id, "score": 1 + n % 5},
        )
        for n in range(INBOX_SIZE)
    )


def requests_plan(seeded: dict, big: int, count: int):
    """``count`` (method, path, token, body) tuples, the benchmark's rows in turn."""
    customers = [access_token(uuid_py("user-c", n)) for n in range(1, N_POST_CUSTOMERS + 1)]
    inbox_token = access_token(seeded["inbox_provider"][1])
    smallest, largest = seeded["summary_providers"][10], seeded["summary_providers"][big]
    providers = seeded["general_providers"]
    # Never-rated (customer, provider) pairs: customer n rates provider n mod 500, n+1 the next.
    pairs = (
        (customers[n % N_POST_CUSTOMERS], providers[(n // N_POST_CUSTOMERS) % N_GENERAL_PROVIDERS])
        for n in itertools.count()
    )
    ratings = f"/api/v1/ratings/?provider={largest}&page_size=20"
    reads = [
        ("GET", f"/api/v1/providers/{smallest}/rating-summary/", None, None),
        ("GET", f"/api/v1/providers/{largest}/rating-summary/", None, None),
        ("GET", "/api/v1/providers/?ordering=-average&page_size=20", None, None),
        ("GET", "/api/v1/notifications/", inbox_token, None),
        ("GET", f"{ratings}&q=leak", None, None),
        ("GET", f"{ratings}&q=chandelier", None, None),
        ("GET", f"/api/v1/providers/{largest}/rating-metrics/?months=24", None, None),
        ("GET", f"/api/v1/providers/{smallest}/rating-metrics/?months=24", None, None),
    ]
    plan = []
    for i in range(count):
        if i % (len(reads) + 1) == 0:
            token, provider = next(pairs)
            plan.append(
                (
                    "POST",
                    "/api/v1/ratings/",
                    token,
                    {"provider_id": provider, "score": 1 + i % 5, "comment": "Fine work."},
                )
            )
        else:
            plan.append(reads[i % (len(reads) + 1) - 1])
    return plan


def drive(base_url: str, plan: list, *, clients: int, rate: float) -> dict:
    import requests

    local = threading.local()
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    started = time.monotonic()
    interval = 1 / rate

    def send(index: int) -> None:
        # A steady rate in all: request i leaves at started + i/rate, whichever thread sends it.
        delay = started + index * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        method, path, token, body = plan[index]
        headers = {"X-Forwarded-For": f"10.{index % 250}.{index // 250 % 250}.1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            status = session.request(method, base_url + path, json=body, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = 0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(send, range(len(plan))))
    return {"seconds": time.monotonic() - started, "statuses": dict(sorted(statuses.items()))}


def main() -> int:
    args = parse_args()
    db_name = f"mr_rss_{os.getpid()}"
    database_url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="mr-rss-"))
    env = stack_env(
        database_url=database_url,
        redis_url=redis_url,
        # No Celery worker runs: what the web role publishes waits in this Redis DB, dropped at the end.
        broker_url=redis_url,
        cache_prefix=f"rss-{os.getpid()}",
        NUM_PROXIES="1",
        EMAIL_URL="dummymail://",
        THROTTLE_USER="10000000/min",
        JWT_ACCESS_MINUTES="120",
    )
    os.environ.update(env)
    os.environ["PGAPPNAME"] = DRIVER_APPLICATION_NAME
    server_env = dict(env)
    for item in args.env:
        key, _, value = item.partition("=")
        server_env[key] = value
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import redis

    stack = Stack()
    created = False
    try:
        redis.Redis.from_url(redis_url).flushdb()
        psql(f"CREATE DATABASE {db_name}")
        created = True
        log(f"database {db_name}, redis db {args.redis_db}, workdir {workdir}")
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        psql("CREATE TABLE bench_baseline (id uuid PRIMARY KEY, created_at timestamptz NOT NULL)", db_name)
        import django

        django.setup()
        seeded = seed(database_url, big=args.big)
        seed_inbox(seeded["inbox_provider"][1], seeded["inbox_provider"][0])
        from django.db import connections

        connections.close_all()
        plan = requests_plan(seeded, args.big, args.requests)

        cmd = [str(VENV_BIN / "python"), "-m", "config.server", "web", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--workers", str(args.workers), "--threads", str(args.threads)]
        master = stack.start(cmd, env=server_env, log_path=workdir / "server.log")
        wait_http(f"{base_url}/healthz")
        time.sleep(1)
        print(f"server: {' '.join(cmd[1:])}; env: {' '.join(args.env) or '-'}", flush=True)
        report("after start", master.pid)

        workers = children(master.pid)
        before = cpu_seconds(workers)
        result = drive(base_url, plan, clients=args.clients, rate=args.rate)
        after = cpu_seconds(workers)
        cpu = sum(after[pid] - before[pid] for pid in workers if pid in after)
        restarted = sorted(set(children(master.pid)) - set(workers))
        log(f"{len(plan)} requests in {result['seconds']:.1f}s, statuses {result['statuses']}")
        report("after load", master.pid)
        # bench/run.py reads the RSS well after its last row; an idle worker may have given
        # free heap back by then (config/watchdog.py).
        time.sleep(IDLE_SECONDS)
        report(f"idle {IDLE_SECONDS} s", master.pid)
        total = sum(memory(pid)["VmRSS"] for pid in children(master.pid))
        print(f"workers' RSS in all: {total:.1f} MiB", flush=True)
        print(
            f"workers' CPU: {cpu:.2f} s for {len(plan)} requests = {cpu * 1000 / len(plan):.3f} ms a request"
            + (f" (restarted workers {restarted}: incomplete)" if restarted else ""),
            flush=True,
        )
        print(f"statuses: {result['statuses']}", flush=True)
    finally:
        stack.stop()
        with suppress(Exception):
            from django.db import connections

            connections.close_all()
        if created:
            psql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        with suppress(Exception):
            redis.Redis.from_url(redis_url).flushdb()
        log_text = (workdir / "server.log").read_text(errors="replace") if (workdir / "server.log").exists() else ""
        if log_text.strip():
            print("server log (last lines):\n" + "\n".join(log_text.splitlines()[-10:]), file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
