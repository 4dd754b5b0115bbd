"""CPU time per process role of the bench stack, sampled from ``/proc`` while a scenario runs.

A role is a name and a function that lists its pids right now (gunicorn master + workers, a
Celery process tree, the PostgreSQL backends serving the bench database, …). Sampling several
times a second matters for PostgreSQL: a backend that exits (a connection closed by
``CONN_MAX_AGE``, a worker reconnecting) takes its CPU time with it, so the meter keeps the last
value it saw for every pid instead of reading everything once at the end. What a process spent
between its last sample and its exit is lost; ``exited`` says how many did, so a reader can
judge. A pid first seen after the window opened is a new process: all of its CPU counts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.2
# Every connection the bench driver itself opens to PostgreSQL carries this application_name
# (libpq's PGAPPNAME), so its backends are never billed to the product.
DRIVER_APPLICATION_NAME = "bench-driver"


def process_tree(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants (a gunicorn master and its workers)."""
    pids, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        pids.append(pid)
        with suppress(OSError):
            todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def cpu_seconds(pids) -> dict[int, float]:
    """user+system CPU seconds of each live pid, all its threads included."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def tree_role(*roots: int) -> Callable[[], list[int]]:
    return lambda: process_tree(list(roots))


def postgres_role(database_url: str) -> Callable[[], list[int]]:
    """The backends connected to the bench database, except the bench driver's own."""
    import psycopg

    db_name = database_url.rsplit("/", 1)[1]
    conn = psycopg.connect(database_url, autocommit=True, application_name=DRIVER_APPLICATION_NAME)
    lock = threading.Lock()

    def pids() -> list[int]:
        with lock:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name <> %s",
                [db_name, DRIVER_APPLICATION_NAME],
            ).fetchall()
        return [pid for (pid,) in rows]

    return pids


class RoleMeter:
    """Measure the CPU seconds each role spends between ``start()`` and ``stop()``."""

    def __init__(self, roles: dict[str, Callable[[], list[int]]]) -> None:
        self.roles = roles
        self._baseline: dict[str, dict[int, float]] = {}
        self._latest: dict[str, dict[int, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        for role, list_pids in self.roles.items():
            seen = cpu_seconds(list_pids())
            latest = self._latest.setdefault(role, {})
            baseline = self._baseline.setdefault(role, {})
            for pid, seconds in seen.items():
                latest[pid] = max(seconds, latest.get(pid, 0.0))
                baseline.setdefault(pid, 0.0)

    def start(self) -> RoleMeter:
        self._latest = {}
        self._baseline = {}
        for role, list_pids in self.roles.items():
            self._baseline[role] = cpu_seconds(list_pids())
            self._latest[role] = dict(self._baseline[role])
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="role-meter", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with suppress(Exception):  # a role that cannot be listed this instant is sampled next time
                self._sample()

    def stop(self) -> dict:
        """CPU seconds per role, and how many of the role's processes exited meanwhile."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sample()
        seconds, exited = {}, {}
        for role, list_pids in self.roles.items():
            alive = set(list_pids())
            latest, baseline = self._latest.get(role, {}), self._baseline.get(role, {})
            seconds[role] = sum(value - baseline.get(pid, 0.0) for pid, value in latest.items())
            exited[role] = len(set(latest) - alive)
        return {"seconds": seconds, "exited": exited}
