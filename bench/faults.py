"""The fault matrix, measured: for each fault, a fresh production-like stack on loopback takes a
steady stream of ratings, the fault is injected for a bounded time and healed, and the run
reports how long after healing every rating had its inbox item, its email and its webhook, how
many never got them, how many arrived twice, and which roles exited.

``python bench/faults.py [--only broker-redis,smtp] [--rate 5] [--fault-seconds 15]``

Each fault gets its own stack (database cloned from one migrated template, RabbitMQ vhost,
private redis-servers, SMTP sink, webhook receiver): a fault that does not converge cannot
leak its backlog, open breakers or restart counts into the next row. Settings are
``config.settings.bench`` (production, with webhooks allowed to plain HTTP on loopback) with
production's leases, backoffs and breakers: the requirement is about production, and the
shortened timings of the system tests would hide what a fault waits out. ``--set KEY=VALUE``
overrides one setting for a what-if run. Everything the run starts is stopped, and every
database, vhost and redis-server removed, even on Ctrl-C or ``kill``; each fault's process
logs stay under the output directory for reading.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# run as a script (`python bench/faults.py`): make the project importable as when run from ROOT.
sys.path.insert(0, str(ROOT))
# The harness reads the admin connection from DATABASE_URL (as the system tests get it).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

from tests.system import harness  # noqa: E402

RABBIT_PORT = 5672
HEAL_BOUND_S = 30
# Supervised roles: bin/supervise logs one line per restart of its child (Stack.restarts).
SUPERVISED = ("worker", "delivery-worker", "beat", "dispatcher")
ROLES = ("web", *SUPERVISED)
KILLS = {f"kill-{role}": role for role in ROLES}
FAULTS = (
    "broker-redis",
    "broker-rabbitmq",
    *KILLS,
    "db-terminate",
    "smtp",
    "webhook-5xx",
    "webhook-hang",
)
# One row per rating with everything the database knows of its notification and deliveries.
STATE_SQL = """
SELECT n.data->>'rating_id', n.event_id::text,
       coalesce(bool_or(d.channel = 'email' AND d.status = 'sent'), false),
       coalesce(bool_or(d.channel = 'webhook' AND d.status = 'sent'), false),
       coalesce(string_agg(d.channel || ':' || d.status, ',' ORDER BY d.channel), '')
FROM notifications_notification n
LEFT JOIN notifications_delivery d ON d.event_id = n.event_id AND d.recipient_id = n.recipient_id
GROUP BY 1, 2
"""
# The deliveries still unsent at the end and what holds them: a put-back (breaker open, every
# slot busy) writes no log line, only last_error and next_attempt_at.
UNSENT_SQL = """
SELECT channel, status, attempts, left(last_error, 160), round(extract(epoch FROM next_attempt_at - now()))::int
FROM notifications_delivery WHERE status <> 'sent' ORDER BY next_attempt_at DESC LIMIT 5
"""


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(FAULTS)}")
    parser.add_argument("--rate", type=float, default=5.0, help="ratings posted per second")
    parser.add_argument("--warmup-seconds", type=float, default=8.0, help="stream before the fault")
    parser.add_argument("--fault-seconds", type=float, default=15.0, help="how long the fault lasts")
    parser.add_argument("--after-seconds", type=float, default=5.0, help="stream after healing")
    parser.add_argument(
        "--lost-after", type=float, default=120.0, help="seconds after healing a missing delivery counts as lost"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one setting")
    args = parser.parse_args()
    args.only = [f for f in args.only.split(",") if f] or list(FAULTS)
    unknown = sorted(set(args.only) - set(FAULTS))
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {', '.join(FAULTS)}")
    args.overrides = dict(item.split("=", 1) for item in args.set)
    return args


def output_dir() -> Path:
    """$ARTIFACTS_DIR when set (CI keeps it), else var/bench/ (git-ignored)."""
    return Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "var" / "bench")


# --- the stream of ratings ----------------------------------------------------------------
class Poster:
    """Posts one rating per (customer, provider) pair at a fixed rate, open loop (a slow answer
    does not slow the stream), to whatever ``base`` is now: a restarted web role has a new port.
    """

    def __init__(self, base: str, pairs: list, rate: float):
        self.base = base
        self.pairs = pairs
        self.rate = rate
        self.stop = threading.Event()
        self.lock = threading.Lock()
        # rating id -> monotonic time of its 201
        self.accepted: dict[str, float] = {}
        self.statuses: Counter = Counter()
        self.pool = ThreadPoolExecutor(max_workers=16)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _post(self, pair) -> None:
        customer, provider = pair
        status, body = harness.http(
            "POST",
            self.base + "/api/v1/ratings/",
            token=customer["token"],
            body={"provider_id": provider["id"], "score": 4, "comment": "fault matrix"},
            timeout=20,
        )
        with self.lock:
            self.statuses[status] += 1
            if status == 201:
                self.accepted[body["id"]] = time.monotonic()

    def _run(self) -> None:
        started = time.monotonic()
        for i, pair in enumerate(self.pairs):
            delay = started + i / self.rate - time.monotonic()
            if self.stop.wait(max(0.0, delay)):
                return
            self.pool.submit(self._post, pair)

    def finish(self) -> None:
        """Stop posting and wait for the requests in flight (each bounded by its timeout)."""
        self.stop.set()
        self.thread.join(timeout=5)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            return dict(self.accepted)


# --- one fault on one stack -----------------------------------------------------------------
class Run:
    """The stack of one fault and everything around it; ``close`` releases it all."""

    def __init__(self, fault: str, args: argparse.Namespace, workdir: Path):
        self.fault = fault
        self.args = args
        self.workdir = workdir
        self.resources = ExitStack()
        self.poster: Poster | None = None
        self.notes: list[str] = []

    def up(self, template: str) -> None:
        """Everything the fault's stack needs, each piece registered for ``close`` as it starts."""
        workdir = self.workdir
        fault = self.fault
        self.db_name = f"mr_faults_{uuid.uuid4().hex[:10]}"
        harness.pg_execute(f"CREATE DATABASE {self.db_name} TEMPLATE {template}")
        self.resources.callback(harness.pg_execute, f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        self.db = harness.db_url(self.db_name)

        cache = harness.PrivateRedis(workdir)
        cache.start()
        self.resources.callback(cache.stop)
        self.broker_stop = self.broker_start = None
        if fault == "broker-redis":
            broker = harness.PrivateRedis(workdir)
            broker.start()
            self.resources.callback(broker.stop)
            broker_url, self.broker_stop, self.broker_start = broker.url, broker.stop, broker.start
        else:
            vhost = harness.PrivateVhost()
            vhost.create()
            self.resources.callback(vhost.delete)
            broker_url = vhost.url
            if fault == "broker-rabbitmq":
                # The machine's RabbitMQ node may not be stopped: its relay is cut instead.
                relay = harness.TcpOutage(RABBIT_PORT)
                relay.start()
                self.resources.callback(relay.stop)
                broker_url = f"amqp://guest:guest@127.0.0.1:{relay.port}/{vhost.name}"
                self.broker_stop, self.broker_start = relay.stop, relay.start

        self.smtp = harness.SmtpSink()
        self.smtp.start()
        self.resources.callback(lambda: self.smtp.stop())
        self.hook = harness.HookHost("127.0.0.2")
        self.resources.callback(self.hook.close)

        self.stack = harness.Stack(workdir)
        self.resources.callback(self.stack.stop_all)
        env = self.stack.env(
            DJANGO_SETTINGS_MODULE="config.settings.bench",
            DATABASE_URL=self.db,
            CELERY_BROKER_URL=broker_url,
            REDIS_URL=cache.url,
            EMAIL_URL=f"smtp://127.0.0.1:{self.smtp.port}",
            METRICS_TOKEN=secrets.token_urlsafe(32),
            SECURE_SSL_REDIRECT="false",
            LOG_LEVEL="INFO",
        )
        # Stack.env shortens leases, backoffs and sweeps for the system tests; production's apply here.
        for key in (
            "OUTBOX_RELAY_INTERVAL",
            "OUTBOX_LEASE_SECONDS",
            "OUTBOX_CONFIRM_TIMEOUT_SECONDS",
            "NOTIFICATIONS_SWEEP_INTERVAL",
            "NOTIFICATIONS_SWEEP_GRACE_SECONDS",
            "OUTBOUND_RETRY_BASE_SECONDS",
            "OUTBOUND_RETRY_CAP_SECONDS",
            "OUTBOUND_MAX_ATTEMPTS",
            "NOTIFICATIONS_DELIVERY_LEASE_SECONDS",
        ):
            env.pop(key, None)
        env.update(self.args.overrides)
        self.env = env
        self.base = self.stack.production_stack(env)

    def close(self) -> None:
        if self.poster is not None:
            self.poster.finish()
        self.resources.close()

    # -- the roles, as production_stack starts them
    def start_role(self, role: str) -> None:
        if role == "web":
            self.base = self.stack.web("web", self.env)
        elif role == "worker":
            self.stack.worker(
                "worker", self.env, "default,notifications", pool="threads", concurrency=8, supervised=True
            )
        elif role == "delivery-worker":
            self.stack.worker("delivery-worker", self.env, "deliveries", pool="threads", concurrency=8, supervised=True)
        elif role == "beat":
            self.stack.beat("beat", self.env, supervised=True)
        else:
            self.stack.dispatcher("dispatcher", self.env)

    def restarts(self) -> dict[str, int]:
        return {role: self.stack.restarts(role) for role in SUPERVISED}

    def terminate_backends(self) -> int:
        """pg_terminate_backend every connection of the stack's database (this run's own
        connections open and close around each query, so none is held here)."""
        rows = harness.query(
            harness.pg_admin_url(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.db_name,),
        )
        return sum(1 for (done,) in rows if done)

    # -- the fault
    def inject(self) -> float:
        """Inject the fault, hold it ``--fault-seconds``, heal it; returns the monotonic heal time."""
        hold = self.args.fault_seconds
        fault = self.fault
        if fault.startswith("broker-"):
            self.broker_stop()
            time.sleep(hold)
            self.broker_start()
        elif fault in KILLS:
            self.stack.kill(KILLS[fault])
            time.sleep(hold)
            healed = time.monotonic()
            self.start_role(KILLS[fault])
            if KILLS[fault] == "web":
                self.poster.base = self.base
            return healed
        elif fault == "db-terminate":
            first = self.terminate_backends()
            time.sleep(hold)
            second = self.terminate_backends()
            self.notes.append(f"terminated {first} then {second} backends, {hold:.0f} s apart")
        elif fault == "smtp":
            self.smtp.stop()
            time.sleep(hold)
            self.smtp.start()
        elif fault in ("webhook-5xx", "webhook-hang"):
            self.hook.set_mode(fault.removeprefix("webhook-"))
            time.sleep(hold)
            self.hook.set_mode("ok")
        return time.monotonic()

    # -- the measurement
    def complete(self, accepted: dict[str, float]) -> tuple[set[str], dict[str, str]]:
        """The accepted ratings that have their inbox item, and an email and a webhook both
        marked sent in the database and received; and every incomplete one's delivery states."""
        emails = {mid.strip("<>").split(".", 1)[0] for mid in self.smtp.counts()}
        with self.hook.lock:
            hooks = set(self.hook.accepted)
        done, states = set(), {}
        for rating_id, event_id, email_sent, hook_sent, state in harness.query(self.db, STATE_SQL):
            if rating_id not in accepted:
                continue
            if email_sent and hook_sent and event_id in emails and event_id in hooks:
                done.add(rating_id)
            else:
                states[rating_id] = state or "no deliveries"
        for rating_id in accepted.keys() - done - states.keys():
            states[rating_id] = "no inbox item"
        return done, states

    def measure(self) -> dict:
        args = self.args
        pairs = [(c, p) for c in self.seeded["customers"] for p in self.seeded["providers"]]
        before = self.restarts()
        self.poster = Poster(self.base, pairs, args.rate)
        self.poster.start()
        time.sleep(args.warmup_seconds)
        log(f"{self.fault}: injecting for {args.fault_seconds:.0f} s")
        healed = self.inject()
        at_heal = self.poster.snapshot()
        log(f"{self.fault}: healed; {len(at_heal)} ratings accepted so far")
        # Polled from the heal on, while the stream still runs: the ratings of the backlog may be
        # through before the stream ends.
        converged = None
        streaming = True
        deadline = healed + args.lost_after
        while True:
            if streaming and time.monotonic() >= healed + args.after_seconds:
                self.poster.finish()
                streaming = False
            accepted = self.poster.snapshot()
            done, states = self.complete(accepted)
            now = time.monotonic()
            if converged is None and at_heal.keys() <= done:
                converged = now - healed
            if (not streaming and len(done) == len(accepted)) or now > deadline:
                break
            time.sleep(0.5)
        if streaming:
            self.poster.finish()
            accepted = self.poster.snapshot()
        all_done = time.monotonic() - healed if len(done) == len(accepted) else None
        time.sleep(3)  # a late duplicate would show up now
        done, states = self.complete(accepted)

        emails = self.smtp.counts()
        with self.hook.lock:
            hooks = Counter(self.hook.accepted)
        after = self.restarts()
        exits = {role: after[role] - before[role] for role in SUPERVISED}
        killed = KILLS.get(self.fault)
        exits["web"] = 0 if self.stack.alive("web") else 1
        gone = [role for role in ROLES if role in self.stack.processes and not self.stack.alive(role)]
        unexpected = {role: n for role, n in exits.items() if n and role != killed}
        return {
            "fault": self.fault,
            "fault_seconds": args.fault_seconds,
            "accepted": len(accepted),
            "accepted_before_heal": len(at_heal),
            "post_statuses": {str(k): v for k, v in sorted(self.poster.statuses.items())},
            "converged_after_heal_s": None if converged is None else round(converged, 1),
            "all_delivered_after_heal_s": None if all_done is None else round(all_done, 1),
            "lost": len(accepted) - len(done),
            "lost_states": dict(Counter(states.values()).most_common(5)),
            "unsent_deliveries": [
                dict(zip(("channel", "status", "attempts", "last_error", "due_in_s"), row, strict=True))
                for row in harness.query(self.db, UNSENT_SQL)
            ],
            "duplicate_emails": sum(n - 1 for n in emails.values() if n > 1),
            "duplicate_webhooks": sum(n - 1 for n in hooks.values() if n > 1),
            "webhook_requests": sum(self.hook.seen.values()),
            "exits": exits,
            "killed_role": killed,
            "unexpected_exits": unexpected,
            "roles_gone": gone,
            "within_30s": converged is not None and converged <= HEAL_BOUND_S and len(done) == len(accepted),
            "notes": self.notes,
        }

    def prepare(self) -> None:
        # Enough pairs for the whole stream, each rating a distinct (customer, provider).
        total = self.args.rate * (self.args.warmup_seconds + self.args.fault_seconds + self.args.after_seconds + 30)
        providers = 8
        customers = int(total // providers) + 1
        self.seeded = harness.seed(self.env, customers=customers, providers=providers)
        for provider in self.seeded["providers"]:
            status, body = harness.http(
                "POST",
                self.base + "/api/v1/notifications/webhooks/",
                token=provider["token"],
                body={"url": self.hook.url(), "event_types": ["rating.created"]},
            )
            if status != 201:
                raise RuntimeError(f"webhook registration refused: {status} {body}")


def make_template(name: str, workdir: Path) -> None:
    """One migrated database that every fault's database is cloned from (faster than migrating)."""
    harness.pg_execute(f"CREATE DATABASE {name}")
    env = harness.Stack(workdir).env(DATABASE_URL=harness.db_url(name), CELERY_BROKER_URL="memory://")
    harness.manage(env, "migrate", "--noinput", timeout=600)


def print_table(rows: list[dict]) -> None:
    header = ("fault", "converged after heal s", "lost", "duplicates (email/webhook)", "exits", "within 30 s")
    lines = [header]
    for r in rows:
        if "error" in r:
            lines.append((r["fault"], "error", "", "", "", r["error"][:60]))
            continue
        converged = r["converged_after_heal_s"]
        exits = ", ".join(f"{role} {n}" for role, n in r["exits"].items() if n) or "0"
        if r["killed_role"]:
            exits += f" (killed: {r['killed_role']})"
        lines.append(
            (
                r["fault"],
                "never" if converged is None else f"{converged:.1f}",
                str(r["lost"]),
                f"{r['duplicate_emails']}/{r['duplicate_webhooks']}",
                exits,
                "yes" if r["within_30s"] and not r["unexpected_exits"] else "no",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def main() -> int:
    args = parse_args()
    # A plain `kill` still runs the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = output_dir()
    logs_dir = out_dir / f"faults-{stamp}"
    logs_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": stamp,
        "settings": "config.settings.bench (production timings)",
        "overrides": args.overrides,
        "rate_per_s": args.rate,
        "warmup_s": args.warmup_seconds,
        "fault_s": args.fault_seconds,
        "after_s": args.after_seconds,
        "lost_after_s": args.lost_after,
        "machine": {"nproc": os.cpu_count(), "load_avg_before": os.getloadavg()},
        "logs": str(logs_dir),
    }
    rows: list[dict] = []
    # Named before it exists, so an interrupted migration still drops it.
    template = f"mr_faults_tpl_{uuid.uuid4().hex[:8]}"
    try:
        make_template(template, logs_dir)
        for fault in args.only:
            workdir = logs_dir / fault
            workdir.mkdir()
            log(f"{fault}: starting a stack (load average {os.getloadavg()[0]:.1f})")
            load = os.getloadavg()[0]
            run = Run(fault, args, workdir)
            try:
                run.up(template)
                run.prepare()
                row = run.measure()
            except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others
                row = {"fault": fault, "error": f"{type(exc).__name__}: {exc}"}
                log(f"{fault}: {row['error']}")
            finally:
                run.close()
            row["load_avg_1m_at_start"] = round(load, 2)
            rows.append(row)
            log(f"{fault}: {json.dumps(row)}")
    finally:
        with suppress(Exception):
            harness.pg_execute(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
        # Written even when interrupted: the rows measured so far are worth keeping.
        meta["machine"]["load_avg_after"] = os.getloadavg()
        print()
        print_table(rows)
        print(f"load average before {meta['machine']['load_avg_before']}, after {meta['machine']['load_avg_after']}")
        out = out_dir / f"faults-{stamp}.json"
        out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
        print(f"written {out} (process logs under {logs_dir})")
    return 0 if all(r.get("within_30s") and not r.get("unexpected_exits") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
