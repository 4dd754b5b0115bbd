"""Compare web servers on the same stack in one run (``make bench-servers``, ``--server``).

Every server runs the same application (``config.settings.bench``, the same database and Redis)
at once, each on its own port; the paths are then driven with wrk in rounds, the servers
interleaved within each round, so a neighbour's load on a shared machine falls on all of them
alike. What to compare is the ratio to the first server of the same round (by default gunicorn
sync, the old default), not absolute req/s. Rows: ``/healthz`` (no I/O), the bare INSERT view
(one write, the floor of every POST) and the rating summary of a provider with 10 ratings.

Besides req/s and latency the table gives the CPU time the server's processes spent per
request (read from ``/proc``) and the RSS of its workers after the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.roles import DRIVER_APPLICATION_NAME, cpu_seconds, postgres_role, process_tree  # noqa: E402
from bench.run import (  # noqa: E402
    PG_HOST,
    PG_PORT,
    PG_USER,
    RESULTS_DIR,
    Stack,
    free_port,
    log,
    psql,
    run_wrk,
    seed,
    stack_teardown,
    wait_http,
)

REDIS_DB = 10
CORES = os.cpu_count() or 1


def _gunicorn(worker_class: str, workers: int, threads: int = 1) -> list[str]:
    cmd = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "config" / "gunicorn.py"), "config.wsgi:application"]
    cmd += ["--workers", str(workers), "--worker-class", worker_class, "--log-level", "warning", "--timeout", "30"]
    cmd += ["--backlog", "2048"]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads), "--keep-alive", "5"]
    return cmd


def _granian(interface: str, workers: int, threads: int) -> list[str]:
    cmd = [str(VENV_BIN / "granian"), "--interface", interface, "--workers", str(workers), "--log-level", "warning"]
    if interface == "wsgi":
        # Granian's default is hundreds of blocking threads per worker, each of which would keep
        # a database connection of its own (CONN_MAX_AGE is per thread).
        cmd += ["--blocking-threads", str(threads)]
        return [*cmd, "config.wsgi:application"]
    return [*cmd, "config.asgi:application"]


# name -> its command for (workers, threads), without the address to bind.
SERVERS: dict[str, Callable[[int, int], list[str]]] = {
    "gunicorn-sync": lambda w, t: _gunicorn("sync", 2 * CORES + 1),
    "gunicorn-gthread": lambda w, t: _gunicorn("gthread", w, threads=t),
    "granian-wsgi": lambda w, t: _granian("wsgi", w, t),
    "granian-asgi": lambda w, t: _granian("asgi", w, t),
    "uvicorn": lambda w, t: [
        str(VENV_BIN / "uvicorn"),
        "config.asgi:application",
        "--workers",
        str(w),
        "--log-level",
        "warning",
        "--no-access-log",
    ],
}


def bind(name: str, cmd: list[str], port: int) -> list[str]:
    if name.startswith("gunicorn"):
        return [*cmd, "--bind", f"127.0.0.1:{port}"]
    return [*cmd, "--host", "127.0.0.1", "--port", str(port)]


# Django under ASGI runs each request's sync code in a thread of its own: a persistent
# connection per thread would pile up, so the ASGI servers use psycopg's pool (DB_POOL).
ASGI = {"granian-asgi", "uvicorn"}


def describe(name: str, workers: int, threads: int) -> str:
    return {
        "gunicorn-sync": f"gunicorn sync x{2 * CORES + 1}",
        "gunicorn-gthread": f"gunicorn gthread x{workers}, {threads} thr",
        "granian-wsgi": f"granian WSGI x{workers}, {threads} thr",
        "granian-asgi": f"granian ASGI x{workers}",
        "uvicorn": f"uvicorn x{workers}",
    }[name]


def worker_rss_mb(root: int) -> list[float]:
    sizes = []
    for pid in process_tree([root])[1:]:
        with suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sorted(sizes)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server",
        default=",".join(SERVERS),
        help=f"comma-separated servers, the first is the reference of the ratios (default all: {', '.join(SERVERS)})",
    )
    parser.add_argument(
        "--workers", type=int, default=CORES, help="worker processes (not gunicorn sync: 2 x cores + 1)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread, granian WSGI)")
    parser.add_argument("--duration", type=int, default=8, help="seconds per row (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every (path, server) pair (default 3)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--paths", default="healthz,baseline,summary10", help="rows: healthz, baseline, summary10")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    servers = [s for s in args.server.split(",") if s]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        print(f"unknown servers: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    db_name = f"mr_bench_servers_{os.getpid()}"
    database_url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    workdir = Path(tempfile.mkdtemp(prefix="mr-bench-servers-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CACHE_KEY_PREFIX": f"bench-servers-{os.getpid()}",
        "LOG_LEVEL": "WARNING",
        "BENCH_BASELINE_VIEW": "1",
        "NUM_PROXIES": "1",
        "EMAIL_URL": "consolemail://",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    os.environ.update(env)
    os.environ["PGAPPNAME"] = DRIVER_APPLICATION_NAME
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    stack = Stack()
    created_db = False
    results: dict[str, dict[str, list[dict]]] = {s: {} for s in servers}
    rss: dict[str, list[float]] = {}
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
        psql(f"CREATE DATABASE {db_name}")
        created_db = True
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        psql("CREATE TABLE bench_baseline (id uuid PRIMARY KEY, created_at timestamptz NOT NULL)", db_name)
        import django

        django.setup()
        seeded = seed(database_url, big=10)
        paths = {
            "healthz": ("GET /healthz", "get.lua", {"BENCH_PATH": "/healthz"}),
            "baseline": ("POST bare Django INSERT", "post_baseline.lua", {}),
            "summary10": (
                "GET rating summary (10 ratings)",
                "get.lua",
                {"BENCH_PATH": f"/api/v1/providers/{seeded['summary_providers'][10]}/rating-summary/"},
            ),
        }
        wanted = [p for p in args.paths.split(",") if p]
        ports, roots = {}, {}
        for name in servers:
            ports[name] = free_port()
            cmd = bind(name, SERVERS[name](args.workers, args.threads), ports[name])
            server_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"prom-{name}")}
            if name in ASGI:
                server_env |= {"DB_POOL": "1", "CONN_MAX_AGE": "0"}
            os.makedirs(server_env["PROMETHEUS_MULTIPROC_DIR"])
            roots[name] = stack.start(cmd, env=server_env, log_path=workdir / f"{name}.log").pid
        for name in servers:
            wait_http(f"http://127.0.0.1:{ports[name]}/healthz", timeout=60)
            for path in wanted:
                _, script, extra = paths[path]
                run_wrk(f"http://127.0.0.1:{ports[name]}", script, connections=args.connections, duration=2, env=extra)
        log(f"servers up: {', '.join(f'{describe(n, args.workers, args.threads)} :{ports[n]}' for n in servers)}")
        pg_pids = postgres_role(database_url)
        for round_number in range(args.rounds):
            for path in wanted:
                label, script, extra = paths[path]
                for name in servers:
                    web_before = cpu_seconds(process_tree([roots[name]]))
                    pg_before = cpu_seconds(pg_pids())
                    measured = run_wrk(
                        f"http://127.0.0.1:{ports[name]}",
                        script,
                        connections=args.connections,
                        duration=args.duration,
                        env=extra,
                    )
                    web_after = cpu_seconds(process_tree([roots[name]]))
                    pg_after = cpu_seconds(pg_pids())
                    requests = max(measured["requests"], 1)
                    measured["web_cpu_ms_per_req"] = round(
                        sum(t - web_before.get(p, 0.0) for p, t in web_after.items()) * 1000 / requests, 3
                    )
                    measured["pg_cpu_ms_per_req"] = round(
                        sum(t - pg_before.get(p, 0.0) for p, t in pg_after.items()) * 1000 / requests, 3
                    )
                    measured["load_avg"] = os.getloadavg()[0]
                    results[name].setdefault(path, []).append(measured)
                    log(
                        f"round {round_number + 1} {label} {name}: {measured['rps']:.0f} req/s, "
                        f"p99 {measured['p99_ms']:.1f} ms, {measured['errors']} errors"
                    )
        rss = {name: worker_rss_mb(roots[name]) for name in servers}
    finally:
        stack_teardown(stack, created_db=created_db, db_name=db_name, redis_db=REDIS_DB, workdir=workdir)

    reference = servers[0]
    header = (
        f"{'row':<34} {'server':<30} {'req/s':>7} {'x ref':>6} {'x ref per round':>18} {'p50 ms':>7}"
        f" {'p99 ms':>7} {'errors':>6} {'web ms/req':>10} {'pg ms/req':>9}"
    )
    print()
    print(header)
    print("-" * len(header))
    summary = []
    for path in wanted:
        label = paths[path][0]
        ref_runs = results[reference][path]
        for name in servers:
            runs = results[name][path]
            ratios = [r["rps"] / ref["rps"] for r, ref in zip(runs, ref_runs, strict=True)]
            median = {
                key: statistics.median(r[key] for r in runs)
                for key in ("rps", "p50_ms", "p99_ms", "web_cpu_ms_per_req", "pg_cpu_ms_per_req")
            }
            errors = sum(r["errors"] for r in runs)
            ratio = statistics.median(ratios)
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(
                f"{label:<34} {describe(name, args.workers, args.threads):<30} {median['rps']:>7.0f}"
                f" {ratio:>6.2f} {spread:>18}"
                f" {median['p50_ms']:>7.1f} {median['p99_ms']:>7.1f} {errors:>6}"
                f" {median['web_cpu_ms_per_req']:>10.3f} {median['pg_cpu_ms_per_req']:>9.3f}"
            )
            summary.append({"row": path, "server": name, "median": median, "ratio": ratio, "ratios": ratios})
    print()
    for name in servers:
        print(f"{describe(name, args.workers, args.threads)}: worker RSS after the run {rss.get(name, [])} MB")
    print(f"machine: {CORES} cores, load average after {os.getloadavg()}; {args.rounds} rounds of {args.duration} s")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"servers-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "meta": {"date": stamp, "workers": args.workers, "rounds": args.rounds, "rss_mb": rss},
                "summary": summary,
                "runs": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
