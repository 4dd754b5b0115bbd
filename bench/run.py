"""Benchmark the production stack on loopback and print one table (``make bench``).

Starts its own PostgreSQL database (``mr_bench_<pid>``) and Redis DB index, runs the
migrations, seeds with bulk SQL, starts gunicorn with production settings, drives it with
wrk, prints endpoint / connections / req/s / p50 / p90 / p99 / errors and writes the same as
JSON under ``bench/results/``. Everything it starts is stopped and the database dropped at the
end, whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
RESULTS_DIR = BENCH_DIR / "results"
# run as a script (`python bench/run.py`): make the project importable as when run from ROOT.
sys.path.insert(0, str(ROOT))

from bench.roles import DRIVER_APPLICATION_NAME, RoleMeter, cpu_seconds, postgres_role, tree_role  # noqa: E402

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# Flushed at the start and the end; BENCH_REDIS_DB picks another (a machine shared by several runs).
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))

N_GENERAL_PROVIDERS = 500
N_POST_CUSTOMERS = 5000  # customers 1..5000 post ratings during the run
BACKGROUND_RATERS = range(5001, 5021)  # each general provider starts with 20 ratings
# Customers 6001.. are reserved for the notification scenarios (bench/notification_scenarios.py).
NOTIFICATION_CUSTOMERS = range(6001, 9001)
# The delivery scenarios (bench/delivery_scenarios.py) use customers 1.. on providers of their
# own, which no customer has rated: 20 for "full", 10 per run of "hang" (four runs).
N_FULL_PROVIDERS = 20
N_HANG_PROVIDERS = 10
SUMMARY_SIZES = (10, 10_000, 1_000_000)
NOT_INSTALLED = "not available: notifications app not installed"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def uuid_sql(kind: str, number_sql: str) -> str:
    """The deterministic UUID the seed gives to object ``kind`` number ``n``."""
    return f"md5('bench-{kind}-' || {number_sql})::uuid"


def uuid_py(kind: str, number: int) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"bench-{kind}-{number}".encode()).hexdigest()))


# --- processes ---------------------------------------------------------------------------


class Stack:
    """Every process and resource the run owns, released in reverse order."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []
        self.cleanups: list = []

    def start(self, cmd: list[str], *, env: dict, log_path: Path) -> subprocess.Popen:
        handle = open(log_path, "ab")  # noqa: SIM115 - closed with the stack
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        self.cleanups.append(handle.close)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for cleanup in reversed(self.cleanups):
            with suppress(Exception):
                cleanup()


def psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
    )


def stack_teardown(stack, *, created_db: bool, db_name: str, redis_db: int, workdir: Path) -> None:
    """Stop the stack and remove what the run made: its database (if it made it), Redis keys, files."""
    stack.stop()
    with suppress(Exception):
        from django.db import connections

        connections.close_all()
    if created_db:
        psql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    with suppress(Exception):
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
    shutil.rmtree(workdir, ignore_errors=True)


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout}s")
        time.sleep(0.2)


def wait_web_idle(base_url: str, timeout: float = 180) -> None:
    """Wait until the web workers have worked off what wrk left queued when it stopped.

    wrk closes its connections at the deadline, but requests already read keep running: after
    a row of multi-second searches at 64 connections the workers are busy for many seconds
    more, and the next row (or a setup step with a client timeout) would pay for them. Three
    fast ``/healthz`` answers in a row mean no backlog is left in front of a request.
    """
    deadline = time.monotonic() + timeout
    fast = 0
    while fast < 3:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
                ok = response.status == 200
        except OSError:
            ok = False
        fast = fast + 1 if ok and time.monotonic() - started < 0.1 else 0
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web workers were still busy {timeout}s after the last row")
        if not fast:
            time.sleep(0.5)


def wait_notifications_idle(database_url: str, timeout: float = 300) -> None:
    """Wait until every outbox event is confirmed and no delivery is pending or being sent.

    The database is the source of truth (DESIGN.md): once this holds, no queued task of an
    earlier scenario competes for the CPU with the next one.
    """
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True, application_name=DRIVER_APPLICATION_NAME) as conn:
        # A dead event (the attempt cap, when the outbox has one) is never confirmed: not in flight.
        has_dead = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'core_outboxevent' AND column_name = 'dead_at'"
        ).fetchone()
        sql = (
            "SELECT (SELECT count(*) FROM core_outboxevent WHERE confirmed_at IS NULL"
            f"{' AND dead_at IS NULL' if has_dead else ''}), "
            "(SELECT count(*) FROM notifications_delivery WHERE status IN ('pending', 'sending'))"
        )
        while True:
            unconfirmed, open_deliveries = conn.execute(sql).fetchone()
            if not unconfirmed and not open_deliveries:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{unconfirmed} events, {open_deliveries} deliveries still open after {timeout}s")
            time.sleep(0.5)


def stack_env(*, database_url: str, redis_url: str, broker_url: str, cache_prefix: str, **extra: str) -> dict:
    """The environment a bench stack's roles start with (``bench/run.py``, ``bench/web_rss.py``,
    ``bench/sse_latency.py``): production settings with webhooks allowed to the plain-HTTP
    receivers on loopback (``config.settings.bench``), throwaway secrets, warnings only; ``extra``
    adds or overrides variables."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_KEY_PREFIX": cache_prefix,
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_rss(master_pid: int) -> list[int]:
    """RSS in bytes of every direct child (the gunicorn workers) of ``master_pid``."""
    sizes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(master_pid) and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) * 1024)
    return sorted(sizes)


class CpuMeter:
    """CPU time the web processes and this run's PostgreSQL backends spend per request.

    On a machine shared with other work, req/s moves with the neighbours' load; CPU seconds
    per request move far less, so they are what to compare between two runs.
    """

    def __init__(self, master_pid: int, database_url: str) -> None:
        import psycopg

        self.master_pid = master_pid
        self.db_name = database_url.rsplit("/", 1)[1]
        self.conn = psycopg.connect(database_url, autocommit=True, application_name=DRIVER_APPLICATION_NAME)

    def _web_pids(self) -> list[int]:
        children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children").read_text().split()
        return [self.master_pid, *map(int, children)]

    def _pg_pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.db_name]
        ).fetchall()
        return [pid for (pid,) in rows]

    def snapshot(self) -> tuple[dict, dict]:
        return cpu_seconds(self._web_pids()), cpu_seconds(self._pg_pids())

    def per_request_ms(self, before: tuple[dict, dict], requests: int) -> dict:
        after = self.snapshot()
        used = [
            sum(t - start.get(pid, 0.0) for pid, t in end.items()) for start, end in zip(before, after, strict=True)
        ]
        # A process that exited during the run (a connection recycled after CONN_MAX_AGE, a
        # restarted worker) took its CPU time with it: report nothing rather than too little.
        complete = [set(start) <= set(end) for start, end in zip(before, after, strict=True)]
        web, pg = (round(u * 1000 / max(requests, 1), 3) if ok else None for u, ok in zip(used, complete, strict=True))
        return {"web_cpu_ms_per_req": web, "pg_cpu_ms_per_req": pg}

    def close(self) -> None:
        self.conn.close()


# --- seeding -----------------------------------------------------------------------------


# Seeded ratings: spread over ~23 months (10 minutes apart per customer number), each with one
# of eight comments (so a common word such as "leak" is in an eighth of them) and, one in a
# thousand, a rare word ("chandelier"); two in three answered by the provider within 48 hours
# (only the delay the metrics read is seeded, not the reply rows).
SEED_COMMENTS = (
    "Quick and tidy job",
    "Fixed the leak under the sink",
    "Arrived late but friendly",
    "Great value, would hire again",
    "Too expensive for a small job",
    "Careful work, cleaned up after",
    "Answered every question patiently",
    "The boiler works again",
)
SEED_COMMENT_SQL = (
    "(ARRAY[" + ", ".join(f"'{c}'" for c in SEED_COMMENTS) + "])[1 + abs(hashtext(c || 'w' || p)) % 8]"
    " || CASE WHEN c % 1000 = 0 THEN ' and hung the chandelier' ELSE '' END"
)
SEED_REPLY_DELAY_SQL = "CASE WHEN c % 3 <> 0 THEN (abs(hashtext(c || 'r' || p)) % 172800) * interval '1 second' END"


def seed(database_url: str, *, big: int) -> dict:
    """Bulk-seed users, customers, providers, ratings and exact summaries with SQL."""
    import psycopg
    from django.apps import apps

    user = apps.get_model("accounts", "User")._meta.db_table
    customer = apps.get_model("customers", "Customer")._meta.db_table
    provider = apps.get_model("providers", "Provider")._meta.db_table
    rating = apps.get_model("ratings", "Rating")._meta.db_table
    summary = apps.get_model("ratings", "RatingSummary")._meta.db_table
    month = apps.get_model("ratings", "RatingMonth")._meta.db_table

    n_customers = max(big, max(NOTIFICATION_CUSTOMERS), max(BACKGROUND_RATERS))
    specials = {size: N_GENERAL_PROVIDERS + i + 1 for i, size in enumerate(SUMMARY_SIZES)}
    extra = {
        "inbox": N_GENERAL_PROVIDERS + len(SUMMARY_SIZES) + 1,
        "latency": N_GENERAL_PROVIDERS + len(SUMMARY_SIZES) + 2,
    }
    first_delivery = max(extra.values()) + 1
    full = range(first_delivery, first_delivery + N_FULL_PROVIDERS)
    hang = range(full.stop, full.stop + 4 * N_HANG_PROVIDERS)
    n_providers = hang.stop - 1
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        steps = [
            (
                "users",
                f"INSERT INTO {user} (id, password, is_superuser, email, name, is_active, is_staff, date_joined, "
                f"locale) SELECT {uuid_sql('user-c', 'g')}, '!', false, 'c' || g || '@bench.example', "
                f"'Customer ' || g, true, false, now(), 'en' FROM generate_series(1, {n_customers}) g "
                f"UNION ALL SELECT {uuid_sql('user-p', 'g')}, '!', false, 'p' || g || '@bench.example', "
                f"'Provider ' || g, true, false, now(), 'en' FROM generate_series(1, {n_providers}) g",
            ),
            (
                "customers",
                f"INSERT INTO {customer} (id, user_id, created_at, updated_at) "
                f"SELECT {uuid_sql('customer', 'g')}, {uuid_sql('user-c', 'g')}, now(), now() "
                f"FROM generate_series(1, {n_customers}) g",
            ),
            (
                "providers",
                f"INSERT INTO {provider} (id, user_id, name, description, created_at, updated_at) "
                f"SELECT {uuid_sql('provider', 'g')}, {uuid_sql('user-p', 'g')}, 'Provider ' || g, "
                f"'Seeded for the benchmark', now() - g * interval '1 minute', now() "
                f"FROM generate_series(1, {n_providers}) g",
            ),
        ]
        rating_sets = [(BACKGROUND_RATERS.start, BACKGROUND_RATERS.stop - 1, 1, N_GENERAL_PROVIDERS)]
        rating_sets += [(1, size, specials[size], specials[size]) for size in SUMMARY_SIZES if size <= big]
        for first_c, last_c, first_p, last_p in rating_sets:
            steps.append(
                (
                    f"ratings c{first_c}..{last_c} x p{first_p}..{last_p}",
                    f"INSERT INTO {rating} (id, customer_id, provider_id, score, comment, status, verified, "
                    f"moderation_reason, first_published_at, created_at, updated_at, first_reply_delay) "
                    f"SELECT gen_random_uuid(), "
                    f"{uuid_sql('customer', 'c')}, {uuid_sql('provider', 'p')}, 1 + abs(hashtext(c || '-' || p)) % 5, "
                    f"{SEED_COMMENT_SQL}, 'published', false, '', now() - (c % 100000) * interval '10 minutes', "
                    f"now() - (c % 100000) * interval '10 minutes', now(), {SEED_REPLY_DELAY_SQL} "
                    f"FROM generate_series({first_p}, {last_p}) p, generate_series({first_c}, {last_c}) c",
                )
            )
        stars = ", ".join(f"count(r.id) FILTER (WHERE r.score = {n})" for n in range(1, 6))
        steps.append(
            (
                "summaries",
                f"INSERT INTO {summary} (provider_id, count, sum, stars_1, stars_2, stars_3, stars_4, stars_5, "
                f"verified_count, replied_count, updated_at) SELECT p.id, count(r.id), coalesce(sum(r.score), 0), "
                f"{stars}, count(r.id) FILTER (WHERE r.verified), "
                f"count(r.id) FILTER (WHERE r.first_reply_delay IS NOT NULL), now() FROM {provider} p "
                f"LEFT JOIN {rating} r ON r.provider_id = p.id AND r.status = 'published' GROUP BY p.id",
            )
        )
        steps.append(
            (
                "monthly rollups",
                f"INSERT INTO {month} (provider_id, month, count, sum) "
                f"SELECT provider_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, count(*), sum(score) "
                f"FROM {rating} WHERE status = 'published' GROUP BY 1, 2",
            )
        )
        steps.append(("analyze", "VACUUM ANALYZE"))
        for name, sql in steps:
            step_started = time.monotonic()
            conn.execute(sql)
            log(f"seeded {name} in {time.monotonic() - step_started:.1f}s")
    log(f"seed done in {time.monotonic() - started:.0f}s")
    return {
        "general_providers": [uuid_py("provider", n) for n in range(1, N_GENERAL_PROVIDERS + 1)],
        "summary_providers": {size: uuid_py("provider", n) for size, n in specials.items() if size <= big},
        "inbox_provider": (uuid_py("provider", extra["inbox"]), uuid_py("user-p", extra["inbox"])),
        "latency_provider": (uuid_py("provider", extra["latency"]), uuid_py("user-p", extra["latency"])),
        "full_providers": [(uuid_py("provider", n), uuid_py("user-p", n)) for n in full],
        "hang_providers": (
            *(
                [
                    (uuid_py("provider", n), uuid_py("user-p", n))
                    for n in hang[i * N_HANG_PROVIDERS :][:N_HANG_PROVIDERS]
                ]
                for i in range(4)
            ),
        ),
    }


def access_token(user_id: str) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["user_id"] = user_id
    return str(token)


def write_post_inputs(workdir: Path, providers: list[str], runs: list[str], per_run: int) -> dict[str, Path]:
    """One tokens file and, per POST run, a pairs file of never-rated (customer, provider) pairs."""
    tokens_path = workdir / "tokens.txt"
    tokens_path.write_text("\n".join(access_token(uuid_py("user-c", n)) for n in range(1, N_POST_CUSTOMERS + 1)) + "\n")
    space = N_POST_CUSTOMERS * len(providers)
    chosen = random.sample(range(space), per_run * len(runs))
    paths = {"tokens": tokens_path}
    for i, run in enumerate(runs):
        lines = []
        for index in chosen[i * per_run : (i + 1) * per_run]:
            customer_index, provider_index = divmod(index, len(providers))
            lines.append(f"{customer_index + 1} {providers[provider_index]}")
        path = workdir / f"pairs-{run}.txt"
        path.write_text("\n".join(lines) + "\n")
        paths[run] = path
    return paths


# --- load --------------------------------------------------------------------------------


def run_wrk(base_url: str, script: str, *, connections: int, duration: int, env: dict) -> dict:
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency"]
    cmd += ["-s", str(BENCH_DIR / script), base_url]
    wrk_env = {**os.environ, **env, "BENCH_DIR": str(BENCH_DIR), "BENCH_THREADS": str(threads)}
    result = subprocess.run(cmd, env=wrk_env, capture_output=True, text=True, timeout=duration + 60, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            raw = json.loads(line.removeprefix("BENCHJSON "))
            break
    else:
        raise RuntimeError(f"wrk gave no summary: {result.stdout}\n{result.stderr}")
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["status"] + socket_errors,
        "non_2xx": raw["status"],
        "socket_errors": socket_errors,
    }


def row(endpoint: str, connections, measured: dict | None = None, note: str = "") -> dict:
    return {"endpoint": endpoint, "connections": connections, **(measured or {}), "note": note}


# Targets printed beside the figures: (scenario, connections or None for any) -> (text, met?).
TARGETS: dict[tuple[str, int | None], tuple[str, Callable[[dict], bool | None]]] = {
    # "Keeping up": the notifications of the row's ratings are all out within 5 s of its end.
    ("post", 16): (
        ">= 45 % of INSERT, drain <= 5 s",
        lambda r: r["vs_baseline"] >= 0.45 and r.get("drain_s", 0) <= 5 if "vs_baseline" in r else None,
    ),
    # The read path: the rating summary against the bare-INSERT view of the same run (the Go
    # reference service sits at about 1.5 x), at any number of ratings.
    ("summary10", 16): (">= 1.5 x INSERT req/s", lambda r: r["vs_baseline"] >= 1.5 if "vs_baseline" in r else None),
    ("summary1000000", 16): (
        ">= 1.5 x INSERT, p50 <= 1.1 x 10's",
        lambda r: r["vs_baseline"] >= 1.5 and r["p50_vs_small"] <= 1.1 if "p50_vs_small" in r else None,
    ),
    ("list", 16): (">= 1000 req/s, p99 <= 50 ms", lambda r: r["rps"] >= 1000 and r["p99_ms"] <= 50),
    ("inbox", 64): ("p99 <= 60 ms", lambda r: r["p99_ms"] <= 60),
    # The full pipeline (inbox + email + webhook per rating) at 200 ratings/s offered.
    ("full", None): (
        "<= 6 ms CPU/rating, >= 97 % of offered",
        lambda r: r["cpu_ms_per_rating"] <= 6 and r["achieved_per_s"] >= 0.97 * r["offered_per_s"] and not r["errors"],
    ),
    ("latency-inbox", None): ("p99 <= 100 ms", lambda r: r.get("p99_ms", 1e9) <= 100 and not r["errors"]),
    ("latency-webhook", None): ("p99 <= 250 ms", lambda r: r.get("p99_ms", 1e9) <= 250 and not r["errors"]),
    ("hang-hanging", None): ("p99 <= 2 x all-healthy", lambda r: r["p99_ratio"] <= 2 if "p99_ratio" in r else None),
    ("hang-same-host", None): (
        "p99 <= 2 x all answering on that host",
        lambda r: r["p99_ratio"] <= 2 if "p99_ratio" in r else None,
    ),
}
RSS_TARGET_MB = 120


def target(r: dict) -> tuple[str, str]:
    """The row's target and whether this run met it ("yes", "NO", or "" when not measured)."""
    found = TARGETS.get((r.get("scenario", ""), r["connections"])) or TARGETS.get((r.get("scenario", ""), None))
    if not found:
        return "", ""
    text, check = found
    try:
        met = check(r)
    except KeyError:
        met = None
    return text, "" if met is None else ("yes" if met else "NO")


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'endpoint':<52} {'conns':>7} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7}"
        f" {'web CPU ms/req':>15} {'pg CPU ms/req':>14}  {'target':<26} met"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        goal, met = target(r)
        lead = f"{r['endpoint']:<52} {r['connections']!s:>7}"
        if "figure" in r:
            print(f"{lead}   {r['figure']} {r['errors']} errors  [{goal}: {met}]")
        elif "rps" not in r:
            print(f"{lead}   {r['note']}")
        else:
            print(
                f"{lead} {r['rps']:>9.0f} {r.get('p50_ms', 0):>8.1f} "
                f"{r.get('p90_ms', 0):>8.1f} {r.get('p99_ms', 0):>8.1f} {r['errors']:>7}"
                f" {r.get('web_cpu_ms_per_req') or '-':>15} {r.get('pg_cpu_ms_per_req') or '-':>14}  {goal:<26} {met}"
            )


def celery_commands(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """The Celery processes of the run: the worker(s) of README "Celery roles" and beat."""
    celery = [str(VENV_BIN / "celery"), "-A", "config"]
    worker = [*celery, "worker", "--loglevel", "WARNING"]
    queues = "default,notifications" if args.delivery_concurrency else "default,notifications,deliveries"
    worker += ["-Q", queues, "--pool", args.worker_pool, "--concurrency", str(args.worker_concurrency)]
    commands = [("worker", worker), ("beat", [*celery, "beat", "--loglevel", "WARNING"])]
    if args.delivery_concurrency:
        delivery = [*celery, "worker", "--loglevel", "WARNING", "-Q", "deliveries", "--pool", args.delivery_pool]
        commands.append(("delivery-worker", [*delivery, "--concurrency", str(args.delivery_concurrency)]))
    from django.core.management import get_commands

    # The outbox dispatcher (LISTEN/NOTIFY) moves events to the broker as they commit; without
    # it they wait for beat's outbox relay (every OUTBOX_RELAY_INTERVAL seconds).
    if "outbox_dispatcher" in get_commands():
        commands.append(("dispatcher", [str(VENV_BIN / "python"), "manage.py", "outbox_dispatcher"]))
    else:
        log("no outbox_dispatcher command in this tree: events move only through beat's relay")
    return commands


# --- main --------------------------------------------------------------------------------


def current_etag(url: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=10) as r:
        return r.headers["ETag"]


def server_label(args: argparse.Namespace) -> str:
    if args.server == "granian":
        return f"granian WSGI x{args.workers}, {args.threads} threads"
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    return f"gunicorn {args.worker_class} x{args.workers}{threads}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=12, help="seconds per scenario (default 12)")
    parser.add_argument("--connections", default="16,64", help="comma-separated wrk connection counts")
    # The web role's server (config/server.py: granian, chosen with bench/servers.py); gunicorn
    # (sync or gthread) for a comparison with the earlier runs.
    parser.add_argument("--server", default="granian", choices=["granian", "gunicorn"])
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"], help="gunicorn only")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: granian cores, gunicorn 2 x cores + 1)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads per worker (granian, gthread; default 2, as production)"
    )
    parser.add_argument("--db-pool", action="store_true", help="psycopg connection pool instead of CONN_MAX_AGE")
    # threads x 8 measured far ahead of prefork x 2 and x 8 on commit -> inbox (README "Performance").
    parser.add_argument("--worker-pool", default="threads", choices=["prefork", "threads"], help="Celery worker pool")
    parser.add_argument("--worker-concurrency", type=int, default=8, help="Celery worker concurrency (default 8)")
    parser.add_argument("--delivery-pool", default="threads", choices=["prefork", "threads"])
    parser.add_argument(
        "--delivery-concurrency", type=int, default=8, help="delivery worker concurrency; 0: no delivery worker"
    )
    parser.add_argument("--big", type=int, default=SUMMARY_SIZES[-1], help="ratings of the largest summary provider")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenarios (default all): post, baseline, summary10, summary10000, summary1000000, "
        "summary304, healthz, list, search1000000, searchrare1000000, filter1000000, metrics1000000, metrics10, inbox, "
        "full (the rate sweep; also: latency), hang",
    )
    parser.add_argument(
        "--rates",
        default="50,100,200,400",
        help="ratings/s offered to the full pipeline, one run each (default 50,100,200,400); the full and "
        "latency rows carry the 200/s run",
    )
    parser.add_argument("--rate-seconds", type=float, default=30, help="seconds each rate is offered (default 30)")
    parser.add_argument(
        "--hang-rate", type=float, default=25, help="ratings/s of each run of the hanging-host rows (default 25)"
    )
    parser.add_argument(
        "--broker",
        default="rabbitmq",
        choices=["rabbitmq", "redis"],
        help="Celery broker: a private vhost of the RabbitMQ on 127.0.0.1:5672 (guest), as every shipped "
        "topology runs, or Redis database BENCH_REDIS_DB (default rabbitmq)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the stack running for profiling (Ctrl-C ends)")
    return parser.parse_args()


def rabbitmq_vhost(name: str) -> str:
    """Create a private vhost on the machine's RabbitMQ for this run; its broker URL."""
    try:
        for command in (["add_vhost", name], ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]):
            subprocess.run(["rabbitmqctl", "-q", *command], check=True, timeout=60, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        sys.exit(f"bench: cannot create a RabbitMQ vhost ({exc}); is RabbitMQ running? --broker redis runs without it")
    return f"amqp://guest:guest@127.0.0.1:5672/{name}"


def rabbitmq_vhost_delete(name: str) -> None:
    with suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], timeout=60, capture_output=True)


def main() -> int:
    args = parse_args()
    if args.workers is None:
        cores = os.cpu_count() or 1
        args.workers = cores if args.server == "granian" else 2 * cores + 1
    connection_levels = [int(c) for c in args.connections.split(",")]
    only = {s for s in args.only.split(",") if s}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    db_name = f"mr_bench_{os.getpid()}"
    database_url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    port = free_port()
    smtp_port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="mr-bench-"))
    # Every shipped topology (compose, Kubernetes) runs RabbitMQ; Redis is the broker's other option.
    broker_url = rabbitmq_vhost(db_name) if args.broker == "rabbitmq" else f"redis://127.0.0.1:6379/{REDIS_DB}"
    env = stack_env(
        database_url=database_url,
        redis_url=f"redis://127.0.0.1:6379/{REDIS_DB}",
        broker_url=broker_url,
        cache_prefix=f"bench-{os.getpid()}",
        NUM_PROXIES="1",
        # Emails go to a local SMTP sink (aiosmtpd) through the real SMTP backend: the send is
        # measured as in production, and no message body ends up in the logs.
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        CELERY_BEAT_SCHEDULE_FILENAME=str(workdir / "celerybeat-schedule"),
        # The inbox scenario is one provider reading as fast as wrk can: with the default
        # 1200/min per user it would measure the throttle's 429s. The throttle still runs.
        THROTTLE_USER="10000000/min",
        JWT_ACCESS_MINUTES="120",
    )
    if args.db_pool:
        env["DB_POOL"] = "1"
        env["CONN_MAX_AGE"] = "0"
    os.environ.update(env)
    # Set after `env` is built, so only the driver's own PostgreSQL connections (psql, the
    # Django ORM of this process) carry it and are left out of the product's CPU.
    os.environ["PGAPPNAME"] = DRIVER_APPLICATION_NAME
    # A plain `kill` still runs the cleanup below (stop processes, drop the database).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    stack = Stack()
    created_db = False
    rows: list[dict] = []
    meta: dict = {}
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
        psql(f"CREATE DATABASE {db_name}")
        created_db = True
        log(f"database {db_name}, redis db {REDIS_DB}, workdir {workdir}")
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        psql("CREATE TABLE bench_baseline (id uuid PRIMARY KEY, created_at timestamptz NOT NULL)", db_name)

        import django

        django.setup()
        from django.conf import settings

        notifications = "apps.notifications" in settings.INSTALLED_APPS
        seeded = seed(database_url, big=args.big)
        post_runs = ["warmup", *(str(c) for c in connection_levels)]
        inputs = write_post_inputs(
            workdir, seeded["general_providers"], post_runs, per_run=max(3000 * args.duration, 6000)
        )

        if args.server == "granian":
            server = [str(VENV_BIN / "python"), "-m", "config.server", "web", "--host", "127.0.0.1"]
            server += ["--port", str(port), "--workers", str(args.workers), "--threads", str(args.threads)]
        else:
            server = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "config" / "gunicorn.py")]
            server += ["config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            server += ["--workers", str(args.workers), "--worker-class", args.worker_class, "--log-level", "warning"]
            server += ["--timeout", "30", "--backlog", "2048"]
            if args.worker_class == "gthread":
                server += ["--threads", str(args.threads), "--keep-alive", "5"]
        master = stack.start(server, env=env, log_path=workdir / f"{args.server}.log")
        roles = {"web": tree_role(master.pid), "postgres": postgres_role(database_url)}
        receiver_roles, receiver_kinds = {}, []
        if notifications:
            from bench import receivers

            # The webhooks of the rate sweep go to receivers in this process (they log arrivals).
            for start_receiver, receiver_port in ((receivers.start_smtp, smtp_port),):
                receiver = start_receiver(stack, port=receiver_port, env=env, workdir=workdir)
                receiver_roles[receiver.kind] = tree_role(receiver.process.pid)
                receiver_kinds.append(receiver.kind)
                receivers.wait_port("127.0.0.1", receiver_port)
            for name, cmd in celery_commands(args):
                roles[name] = tree_role(stack.start(cmd, env=env, log_path=workdir / f"{name}.log").pid)
            meta["receivers"] = receiver_kinds
            meta["roles"] = sorted(roles)
        wait_http(f"{base_url}/healthz")
        product_meter = RoleMeter(roles)
        meter = CpuMeter(master.pid, database_url)
        stack.cleanups.append(meter.close)
        log(f"{server_label(args)} on {base_url}")

        def wanted(name: str) -> bool:
            return not only or name in only

        post_env = {"BENCH_TOKENS": str(inputs["tokens"])}
        summary_path = "/api/v1/providers/{}/rating-summary/"
        scenarios = [
            ("POST /api/v1/ratings/", "post_rating.lua", post_env, "post"),
            ("POST bare Django INSERT (baseline)", "post_baseline.lua", {}, "baseline"),
        ]
        for size, provider_id in seeded["summary_providers"].items():
            path = summary_path.format(provider_id)
            scenarios.append(
                (f"GET rating-summary ({size:,} ratings)", "get.lua", {"BENCH_PATH": path}, f"summary{size}")
            )
        # The same summary as a CDN or client revalidating its copy would ask for it: If-None-Match
        # with the current ETag, answered 304 without a body (the body is still built to hash it).
        smallest = min(seeded["summary_providers"])
        revalidated = summary_path.format(seeded["summary_providers"][smallest])
        scenarios.append(
            (
                f"GET rating-summary ({smallest:,} ratings), If-None-Match → 304",
                "get.lua",
                {"BENCH_PATH": revalidated},
                "summary304",
            )
        )
        # The stack's floor: a request that touches no database, cache or view logic, through the same
        # server and middleware. How far a row sits from it is what the application costs.
        scenarios.append(("GET /healthz (the floor)", "get.lua", {"BENCH_PATH": "/healthz"}, "healthz"))
        list_path = "/api/v1/providers/?ordering=-average&page_size=20"
        scenarios.append(("GET providers/?ordering=-average (20)", "get.lua", {"BENCH_PATH": list_path}, "list"))
        # Searching and filtering one provider's reviews, and its metrics, at the largest size.
        for size, provider_id in seeded["summary_providers"].items():
            if size != max(seeded["summary_providers"]):
                continue
            ratings = f"/api/v1/ratings/?provider={provider_id}&page_size=20"
            reads = [
                (f"GET ratings/?q=leak ({size:,}; 1 in 8 match)", f"{ratings}&q=leak", "search"),
                (f"GET ratings/?q=chandelier ({size:,}; 1 in 1,000)", f"{ratings}&q=chandelier", "searchrare"),
                (
                    f"GET ratings/?stars=1,2&has_comment=true ({size:,})",
                    f"{ratings}&stars=1,2&has_comment=true",
                    "filter",
                ),
                (
                    f"GET rating-metrics?months=24 ({size:,})",
                    f"/api/v1/providers/{provider_id}/rating-metrics/?months=24",
                    "metrics",
                ),
            ]
            for endpoint, path, name in reads:
                scenarios.append((endpoint, "get.lua", {"BENCH_PATH": path}, f"{name}{size}"))
        smallest_metrics = f"/api/v1/providers/{seeded['summary_providers'][smallest]}/rating-metrics/?months=24"
        scenarios.append(
            (f"GET rating-metrics?months=24 ({smallest:,})", "get.lua", {"BENCH_PATH": smallest_metrics}, "metrics10")
        )

        # Warm every worker (imports, DB connections, caches) without recording anything.
        warm = [s for s in scenarios if wanted(s[3])]
        for _, script, extra, name in warm:
            extra = {**extra, "BENCH_PAIRS": str(inputs["warmup"])} if name == "post" else extra
            run_wrk(base_url, script, connections=16, duration=2, env=extra)
        if notifications:
            wait_notifications_idle(database_url)

        for connections in connection_levels:
            for endpoint, script, extra, name in scenarios:
                if not wanted(name):
                    continue
                if name == "post":
                    extra = {**extra, "BENCH_PAIRS": str(inputs[str(connections)])}
                if name == "summary304":
                    # Taken now: the rows before may have rated this provider.
                    extra = {**extra, "BENCH_IF_NONE_MATCH": current_etag(base_url + extra["BENCH_PATH"])}
                before = meter.snapshot()
                if name == "post" and notifications:
                    product_meter.start()
                measured = run_wrk(base_url, script, connections=connections, duration=args.duration, env=extra)
                measured |= meter.per_request_ms(before, measured["requests"])
                log(f"{endpoint} c={connections}: {measured['rps']:.0f} req/s, p99 {measured['p99_ms']:.1f} ms")
                wait_web_idle(base_url)
                if name == "post" and notifications:
                    # The notifications of those ratings (inbox rows, emails) are still being
                    # worked through: let them finish inside the POST row's CPU window, so their
                    # cost is billed to the ratings that caused them and not to the next rows.
                    started = time.monotonic()
                    wait_notifications_idle(database_url)
                    measured["drain_s"] = round(time.monotonic() - started, 1)
                    used = product_meter.stop()["seconds"]
                    ratings = max(measured["requests"] - measured["non_2xx"], 1)
                    split = {role: round(used[role] * 1000 / ratings, 3) for role in sorted(used)}
                    measured["cpu_ms_per_rating_by_role"] = split
                    measured["cpu_ms_per_rating"] = round(sum(split.values()), 3)
                    log(
                        f"notifications of the POST run drained in {measured['drain_s']}s; CPU per rating "
                        f"(web, postgres, Celery, dispatcher, beat; inbox + email) {measured['cpu_ms_per_rating']} ms"
                    )
                rows.append(row(endpoint, connections, measured) | {"scenario": name})

        from bench import notification_scenarios as notification_bench

        if not notifications:
            for connections in connection_levels:
                rows.append(row(notification_bench.INBOX_ENDPOINT, connections, note=NOT_INSTALLED))
            from bench import delivery_scenarios as delivery_bench

            rows.append(row(delivery_bench.FULL_ENDPOINT, "open", note=NOT_INSTALLED))
        else:

            def measured_wrk(url: str, script: str, **kwargs) -> dict:
                before = meter.snapshot()
                measured = run_wrk(url, script, **kwargs)
                return measured | meter.per_request_ms(before, measured["requests"])

            context = notification_bench.Context(
                base_url=base_url,
                customer_tokens=[access_token(uuid_py("user-c", n)) for n in NOTIFICATION_CUSTOMERS],
                inbox_provider=seeded["inbox_provider"],
                latency_provider=seeded["latency_provider"],
                access_token=access_token,
                run_wrk=measured_wrk,
                duration=args.duration,
                log=log,
                quiesce=lambda: wait_notifications_idle(database_url),
                # Every notification process: the Celery workers, beat and the dispatcher.
                worker_cpu=lambda: sum(
                    sum(cpu_seconds(pids()).values()) for role, pids in roles.items() if role not in ("web", "postgres")
                ),
            )
            if wanted("inbox"):
                rows += [r | {"scenario": "inbox"} for r in notification_bench.inbox_rows(context, connection_levels)]

            from bench import delivery_scenarios as delivery_bench

            delivery_context = delivery_bench.Context(
                base_url=base_url,
                customer_tokens=[access_token(uuid_py("user-c", n)) for n in range(1, N_POST_CUSTOMERS + 1)],
                full_providers=seeded["full_providers"],
                hang_providers=seeded["hang_providers"],
                access_token=access_token,
                log=log,
                quiesce=lambda: wait_notifications_idle(database_url),
                product_meter=product_meter,
                receiver_meter=RoleMeter(receiver_roles),
                receivers=" + ".join(receiver_kinds),
                workdir=workdir,
                rates=[float(rate) for rate in args.rates.split(",") if rate.strip()],
                rate_seconds=args.rate_seconds,
                hang_rate=args.hang_rate,
            )
            if wanted("full") or wanted("latency"):
                rows += delivery_bench.rate_sweep_rows(delivery_context)
            if wanted("hang"):
                hang = delivery_bench.hang_rows(delivery_context)
                scenarios = ("hang-healthy", "hang-hanging", "hang-same-host-healthy", "hang-same-host")
                rows += [r | {"scenario": s} for r, s in zip(hang, scenarios, strict=True)]

        sizes = worker_rss(master.pid)
        meta["web_worker_rss_mb"] = [round(s / 2**20, 1) for s in sizes]
        meta["web_worker_rss_total_mb"] = round(sum(sizes) / 2**20, 1)
        if args.keep:
            log(f"stack kept on {base_url}; gunicorn master pid {master.pid}; Ctrl-C to stop")
            with suppress(KeyboardInterrupt):
                signal.pause()
    finally:
        stack_teardown(stack, created_db=created_db, db_name=db_name, redis_db=REDIS_DB, workdir=workdir)
        if args.broker == "rabbitmq":
            rabbitmq_vhost_delete(db_name)

    baseline = {r["connections"]: r for r in rows if r.get("scenario") == "baseline"}
    small = {r["connections"]: r for r in rows if r.get("scenario") == "summary10"}
    for r in rows:
        scenario = r.get("scenario", "")
        if scenario in ("post", "summary10", "summary1000000") and r["connections"] in baseline:
            r["vs_baseline"] = round(r["rps"] / baseline[r["connections"]]["rps"], 3)
        if scenario == "summary1000000" and r["connections"] in small and small[r["connections"]]["p50_ms"]:
            r["p50_vs_small"] = round(r["p50_ms"] / small[r["connections"]]["p50_ms"], 3)

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    meta |= {
        "date": stamp,
        "machine": {"nproc": os.cpu_count(), "cpu": cpu, "load_avg_after": os.getloadavg()},
        "server": {
            "server": args.server,
            "worker_class": args.worker_class,
            "workers": args.workers,
            "threads": args.threads,
            "db_pool": args.db_pool,
        },
        "duration_s": args.duration,
        "big_ratings": args.big,
    }
    print()
    print_table(rows)
    for r in rows:
        if "vs_baseline" in r:
            goal, met = target(r)
            goal = f" (target {goal}: {met})" if goal else ""
            what = "POST rating" if r.get("scenario") == "post" else r["endpoint"]
            ratio = f"{r['vs_baseline']:.0%}" if r.get("scenario") == "post" else f"x{r['vs_baseline']:.2f}"
            p50 = f", p50 x{r['p50_vs_small']:.2f} of 10 ratings'" if "p50_vs_small" in r else ""
            print(f"{what} / bare INSERT at {r['connections']} connections: {ratio}{p50}{goal}")
        if "drain_s" in r:
            print(
                f"POST rating at {r['connections']} connections: notifications drained {r['drain_s']} s after wrk; "
                f"CPU per rating over wrk + drain {r['cpu_ms_per_rating']} ms {r['cpu_ms_per_rating_by_role']}"
            )
        if r.get("worker_cpu_ms_per_rating") is not None:
            print(
                "Notification processes' CPU per rating in the latency row (Celery, dispatcher, beat): "
                f"{r['worker_cpu_ms_per_rating']} ms"
            )
        if r.get("scenario", "").startswith("rate-"):
            inbox, webhook = r["inbox"], r["webhook"]
            print(
                f"{r['offered_per_s']:.0f}/s offered: {r['achieved_per_s']}/s fully delivered "
                f"(posted {r['posted_per_s']}/s), CPU {r['cpu_ms_per_rating']} ms/rating "
                f"{r['cpu_ms_per_rating_by_role']}; commit->inbox p50/p99 {inbox.get('p50_ms', 0):.0f}/"
                f"{inbox.get('p99_ms', 0):.0f} ms, ->webhook {webhook.get('p50_ms', 0):.0f}/"
                f"{webhook.get('p99_ms', 0):.0f} ms; drained {r['drained_after_s']} s after the last POST; receivers "
                f"{r['receiver_cpu_ms_per_rating']} ms/rating, not counted; errors {r['errors']}; exited: "
                f"{r['exited_processes'] or 'none'}"
            )
            print(f"    batch sizes (batches per size): {r['batches']}")
        if r.get("scenario", "").startswith("hang"):
            print(f"{r['endpoint']}: ratings posted at {r['posted_per_s']}/s (offered {r['connections']})")
        if "p99_ratio" in r:
            which = "endpoint beside nine on one host" if r["scenario"] == "hang-same-host" else "host among ten"
            print(
                f"One hanging {which}: healthy endpoints' p99 x{r['p99_ratio']} and deliveries/s "
                f"x{r['rps_ratio']} of the all-answering run"
            )
    rss_met = "yes" if meta["web_worker_rss_mb"] and max(meta["web_worker_rss_mb"]) <= RSS_TARGET_MB else "NO"
    print(
        f"web worker RSS after the run: {meta['web_worker_rss_total_mb']} MB total, per worker "
        f"{meta['web_worker_rss_mb']} MB (target <= {RSS_TARGET_MB} MB per worker: {rss_met})"
    )
    meta["broker"] = args.broker
    print(f"machine: {os.cpu_count()} cores, {cpu}; {server_label(args)}; broker {args.broker}; {stamp}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{stamp}.json"
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
