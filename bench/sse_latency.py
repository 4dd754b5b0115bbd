"""Live inbox latency: an inbox item committed → its Server-Sent Event received, on loopback.

    python bench/sse_latency.py [--rate 100] [--seconds 20] [--redis-db 9]

Starts its own PostgreSQL database (``mr_bench_sse_<pid>``, migrated, dropped at the end) and
the ``stream`` role as the entrypoint runs it (gunicorn + one uvicorn worker on
``config.asgi``, production settings via ``config.settings.bench``), opens one stream as a
provider, then commits inbox items for that provider at ``--rate`` per second, open loop,
through the ingest service in this process, exactly as the notifications worker does (one
ingest transaction per event; the Redis doorbell published after commit). Latency is the
arrival of the ``notification`` event minus the moment the item's transaction committed (a
commit callback registered before the ingest's own); both clocks are this machine's.

Prints one row (sent, received, p50 / p90 / p99 / max in ms) and writes it as JSON under
``bench/results/``. Every wait is bounded; whatever happens the server is stopped and the
database dropped. Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
sys.path.insert(0, str(ROOT))

from bench.run import stack_env  # noqa: E402
from tests.system.harness import free_port, pg_execute, wait_until  # noqa: E402
from tests.system.harness import http as http_call  # noqa: E402

PG_URL = "postgres://postgres@127.0.0.1:5432"


def log(message: str) -> None:
    print(f"[sse-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Listener:
    """One event stream read in a thread: the arrival time of every notification, by item id."""

    def __init__(self, base: str, token: str):
        port = int(base.rsplit(":", 1)[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/v1/notifications/stream/", headers={"Authorization": f"Bearer {token}"})
        response = self.conn.getresponse()
        assert response.status == 200, response.read()
        self.response = response
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind = None
        try:
            for raw in self.response:
                line = raw.decode()
                if line.startswith("event: "):
                    kind = line[7:].strip()
                elif line.startswith("data: ") and kind == "notification":
                    self.arrived[json.loads(line[6:])["id"]] = time.time()
                elif line.startswith("data: ") and kind == "unread":
                    self.ready.set()
        except (OSError, ValueError, AttributeError):
            return

    def close(self) -> None:
        self.conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=100, help="items per second (open loop)")
    parser.add_argument("--seconds", type=float, default=20, help="how long items are committed")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--committers", type=int, default=8, help="threads committing items")
    args = parser.parse_args()

    db_name = f"mr_bench_sse_{os.getpid()}"
    env = stack_env(
        database_url=f"{PG_URL}/{db_name}",
        redis_url=f"redis://127.0.0.1:6379/{args.redis_db}",
        broker_url="memory://",
        cache_prefix=f"bench-sse-{os.getpid()}",
        # Pub/sub channels ignore the database number: a prefix of this run's own.
        NOTIFICATIONS_STREAM_CHANNEL_PREFIX=f"bench-sse-{os.getpid()}",
    )
    os.environ.update(env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = None
    created = False
    try:
        pg_execute(f"CREATE DATABASE {db_name}")
        created = True
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=600
        )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.py",
                "config.asgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "uvicorn_worker.UvicornWorker",
                "--workers",
                "1",
                "--graceful-timeout",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_call("GET", base + "/healthz")[0] == 200, timeout=60, what="the stream role")

        import django

        django.setup()
        from django.db import transaction
        from rest_framework_simplejwt.tokens import AccessToken

        from apps.accounts.models import User
        from apps.notifications.services import events_ingest
        from apps.notifications.tests.conftest import envelope

        user = User.objects.create_user(email=f"sse-{uuid.uuid4().hex[:8]}@example.com", password=None, name="SSE")
        listener = Listener(base, str(AccessToken.for_user(user)))
        assert listener.ready.wait(10), "no first event"

        committed: dict[str, float] = {}
        total = int(args.rate * args.seconds)
        log(f"committing {total} items at {args.rate:g}/s")
        started = time.monotonic()

        def commit_one(i: int) -> None:
            pause = started + i / args.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            stamp: list[float] = []
            with transaction.atomic():
                transaction.on_commit(lambda: stamp.append(time.time()))
                items = events_ingest(envelopes=[envelope(recipient_id=user.pk)])
            committed[str(items[0].pk)] = stamp[0]

        # Several committers, as several worker threads ingest at once: one alone cannot keep
        # the rate on a loaded 2-core machine, and the rate is what the row is about.
        with ThreadPoolExecutor(max_workers=args.committers) as pool:
            list(pool.map(commit_one, range(total)))
        achieved = total / (time.monotonic() - started)
        wait_until(lambda: len(listener.arrived) >= total, timeout=30, interval=0.1, what="every event")
        listener.close()
    except AssertionError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if created:
            pg_execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")

    latencies = sorted((listener.arrived[i] - t) * 1000 for i, t in committed.items() if i in listener.arrived)
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    row = {
        "row": f"item committed -> SSE event received @{args.rate:g}/s for {args.seconds:g} s",
        "sent": total,
        "received": len(latencies),
        "achieved_rate": round(achieved, 1),
        "committers": args.committers,
        "p50_ms": round(quantiles[49], 1),
        "p90_ms": round(quantiles[89], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_ms": round(latencies[-1], 1),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print("| row | achieved/s | sent | received | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {row['row']} | {row['achieved_rate']} | {total} | {row['received']} | {row['p50_ms']} | "
        f"{row['p90_ms']} | {row['p99_ms']} | {row['max_ms']} |"
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"sse-latency-{row['at'].replace(':', '')}.json").write_text(json.dumps(row, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
