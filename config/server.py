"""The HTTP server of every web role: granian (``python -m config.server web|stream``).

Chosen by measurement (``bench/servers.py``, bench/README.md): granian's WSGI workers keep
connections alive and parse HTTP natively (hyper), which more than doubled the requests a
second of gunicorn's sync workers on the same stack. ``web`` serves ``config.wsgi`` (WSGI, a few
threads per worker process); ``stream`` serves ``config.asgi`` (ASGI: an open Server-Sent
Events stream is a coroutine, not a thread).

What the deployment relies on, and where it comes from:

- **Edge limits.** A client has ``--header-timeout`` seconds to send a request's whole head
  (slow-header clients are disconnected), a head larger than ``--max-header-bytes`` is refused
  with 431 (hyper checks between reads, so a head of up to about twice the limit may pass),
  and a request with both ``Content-Length`` and ``Transfer-Encoding`` is answered and its
  connection closed (RFC 9112 §6.1): hyper's HTTP/1 parser and these two settings.
- **Graceful shutdown.** SIGTERM (or SIGINT) stops accepting, lets the requests in flight
  finish, and kills a worker that has not finished after ``--graceful-timeout`` seconds.
- **Stuck requests.** A web worker whose request runs past ``--timeout`` seconds logs the
  stuck thread's stack and exits; granian starts a new worker in its place
  (``config.watchdog``). That is what gunicorn's ``--timeout`` did to a sync worker.
- **Metrics across workers.** Each worker is a process: prometheus_client's multiprocess mode
  writes its samples under ``PROMETHEUS_MULTIPROC_DIR``, which this launcher empties at start
  (an earlier run's files would add to this run's counters) or, when unset, creates for this
  server alone and removes at exit. ``/metrics`` sums every worker's files and drops the live
  gauges of workers that are gone (``apps.core.metrics``).
- **Logs.** granian's own lines in the deployment's ``LOG_FORMAT`` (json unless set); the
  access line per request is the application's (``apps.core.access``: request and trace ids),
  so granian's access log stays off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from config import env

ROOT = Path(__file__).resolve().parent.parent

ROLES = {
    # role -> (interface, target, default graceful timeout in seconds)
    "web": ("wsgi", "config.watchdog:wsgi_application", 30),
    # Streams never end on their own: after the graceful timeout they are cut and the clients
    # reconnect elsewhere with Last-Event-ID. Django has no ASGI lifespan: "asginl" skips it.
    "stream": ("asginl", "config.asgi:application", 10),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m config.server", description=__doc__.splitlines()[0])
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=env.port())
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=2, help="threads per web worker (default 2; stream: unused)")
    p.add_argument("--graceful-timeout", type=int, help="seconds a request in flight gets after SIGTERM")
    p.add_argument("--timeout", type=int, default=30, help="seconds before a stuck web request ends its worker")
    p.add_argument("--header-timeout", type=float, default=10, help="seconds a client has to send a request head")
    p.add_argument("--max-header-bytes", type=int, default=32768, help="largest request head accepted (bytes)")
    p.add_argument(
        "--max-connections",
        type=int,
        default=256,
        help="open connections per worker, idle keep-alive ones included; more wait in the listen backlog",
    )
    return p


def prepare_metrics_directory() -> str | None:
    """Empty (or create) the multiprocess metrics directory; the path to remove at exit, if ours."""
    directory = env.prometheus_multiproc_dir()
    own = not directory
    if own:
        directory = tempfile.mkdtemp(prefix=f"prometheus-granian-{os.getpid()}-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        # Only prometheus_client's files: the directory is the operator's choice.
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    return directory if own else None


def build(args: argparse.Namespace):
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from config.log_config import logging_config

    interface, target, graceful = ROLES[args.role]
    log_level = env.log_level().lower()
    log_config = logging_config(log_format=env.log_format(default="json"), level=log_level.upper())
    os.environ["WEB_REQUEST_TIMEOUT"] = str(args.timeout)
    threads = args.threads if interface == "wsgi" else 1
    return Server(
        target,
        address=args.host,
        port=args.port,
        interface=Interfaces(interface),
        workers=args.workers,
        blocking_threads=threads,
        # Granian's backpressure caps the connections a worker has accepted, not its requests in
        # flight: an idle keep-alive connection holds its place. Capped at the thread count, a
        # client pool (a proxy, a load balancer) with more keep-alive connections than the
        # server has threads had the rest wait unaccepted until an idle one timed out (10 s and
        # more per request). Requests beyond the threads wait in the worker's queue instead.
        backpressure=args.max_connections,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(args.header_timeout * 1000), max_buffer_size=args.max_header_bytes
        ),
        log_level=LogLevels(log_level if log_level in LogLevels.__members__ else "info"),
        log_dictconfig=log_config,
        log_access=False,
        respawn_failed_workers=True,
        # Not the default 3.5 s: a worker that died (a stuck request) is replaced at once.
        respawn_interval=0.5,
        workers_kill_timeout=args.graceful_timeout if args.graceful_timeout is not None else graceful,
        static_path_mount=None,
        working_dir=ROOT,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    own_directory = prepare_metrics_directory()
    try:
        build(args).serve()
    finally:
        if own_directory:
            shutil.rmtree(own_directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
