"""The health probes (bin/probe) against the real roles, run as the image runs them.

Each role starts through docker/entrypoint.sh on production settings, with a private Redis as
broker and cache and a migrated PostgreSQL database. As root (CI) it runs as the image's user
(UID 10001) in a mount namespace of its own where this tree, and so its code, virtualenv and
HOME, is read-only: what readOnlyRootFilesystem and runAsNonRoot give it in Kubernetes, with
/tmp writable as the pod's emptyDir is. The probe must pass while the role runs, fail while its
process group is stopped (SIGSTOP: a wedged process that still exists) and fail once it is gone.
"""

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.system import harness

pytestmark = pytest.mark.system

ROOT = harness.ROOT
PROBE = [sys.executable, str(ROOT / "bin" / "probe")]
APP_UID = 10001
# Drops to the image's user with this tree read-only. Directories that others may not enter
# (pyenv's interpreter or the clone under /root) get a private view in which only the paths the
# role needs are there: a tmpfs over the blocked directory, with those paths bound back into it.
CONTAIN = r"""
set -e
IFS='
'
for blocked in $BLOCKED; do
  staged=""
  for path in $REACH; do
    case "$path/" in "$blocked"/*)
      stage=$(mktemp -d)
      mount --rbind "$path" "$stage"
      staged="$staged$path=$stage
" ;;
    esac
  done
  mount -t tmpfs -o mode=755 tmpfs "$blocked"
  for pair in $staged; do
    mkdir -p "${pair%%=*}"
    mount --rbind "${pair#*=}" "${pair%%=*}"
  done
done
mount --bind "$TREE" "$TREE"
mount -o remount,bind,ro "$TREE"
exec setpriv --reuid "$APP_UID" --regid "$APP_UID" --clear-groups -- "$@"
"""


@functools.cache
def can_contain() -> bool:
    """Root, with the tools, and allowed to make a mount namespace."""
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


def blocked_directory(path: Path) -> Path | None:
    """The first directory on the way to ``path`` that others cannot enter."""
    for directory in [*reversed(path.parents), path]:
        if not os.stat(directory).st_mode & 0o001:
            return directory
    return None


def contained(args: list[str], env: dict) -> tuple[list[str], dict]:
    reach = [Path(sys.base_prefix).resolve(), ROOT.resolve()]
    blocked = {b for path in reach if (b := blocked_directory(path))}
    outermost = [b for b in blocked if not any(other in b.parents for other in blocked)]
    env = {
        **env,
        "TREE": str(ROOT.resolve()),
        "REACH": "\n".join(map(str, reach)),
        "BLOCKED": "\n".join(map(str, outermost)),
        "APP_UID": str(APP_UID),
    }
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", CONTAIN, "contain", *args], env


@pytest.fixture
def writable_tmp():
    """The pod's emptyDir: a directory the image's user can write."""
    path = Path(tempfile.mkdtemp(prefix="mr-probe-"))
    path.chmod(0o1777)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.fixture
def role_env(make_db, redis_broker, writable_tmp):
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(ROOT),  # the image's HOME is /app: read-only
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": harness.SECRET_KEY,
        "ALLOWED_HOSTS": "ratings.example.com",
        "DATABASE_URL": make_db(),
        "REDIS_URL": redis_broker.url,
        "CELERY_BROKER_URL": redis_broker.url,
        "CACHE_KEY_PREFIX": f"probe-{uuid.uuid4().hex[:6]}",
        "METRICS_TOKEN": "probe-test-metrics-token",
        "PORT": str(harness.free_port()),
        "WEB_CONCURRENCY": "2",
        "WORKER_CONCURRENCY": "2",
        "DELIVERY_CONCURRENCY": "2",
        "OUTBOX_DISPATCHER_HEARTBEAT_FILE": str(writable_tmp / "outbox-dispatcher.heartbeat"),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(writable_tmp / "celerybeat-schedule"),
    }


def start_role(stack: harness.Stack, role: str, env: dict) -> subprocess.Popen:
    args = ["sh", str(ROOT / "docker" / "entrypoint.sh"), role]
    if can_contain():
        args, env = contained(args, env)
    process = stack.start(role, args, env)
    if can_contain():
        # The same process (unshare, setpriv and the entrypoint exec): now the image's user, on
        # a read-only tree.
        harness.wait_until(lambda: uid_of(process.pid) == APP_UID, timeout=10, what=f"{role} as uid {APP_UID}")
        assert tree_is_read_only_for(process.pid)
    return process


def uid_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def tree_is_read_only_for(pid: int) -> bool:
    """The mount the process sees at the tree: the last one listed there (mounts stack up)."""
    options = None
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == str(ROOT.resolve()):
            options = fields[5].split(",")
    return options is not None and "ro" in options


def probe(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PROBE, *args], env=env, capture_output=True, text=True, timeout=timeout)


def wait_for_log(stack: harness.Stack, role: str, text: str) -> None:
    """Until the role says it is up: a ping sent earlier waits out its whole timeout."""
    log = stack.workdir / f"{role}.log"
    harness.wait_until(lambda: text in log.read_text(errors="replace"), timeout=60, what=f"{role}: {text!r}")


def wait_healthy(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    last = None

    def passes():
        nonlocal last
        last = probe(*args, env=env)
        return last.returncode == 0

    try:
        harness.wait_until(passes, timeout=timeout, interval=1, what=f"bin/probe {' '.join(args)}")
    except AssertionError:
        raise AssertionError(f"bin/probe {' '.join(args)} never passed; last:\n{last.stdout}{last.stderr}") from None
    return last


def freeze(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGSTOP)


def thaw(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGCONT)


def stop(stack: harness.Stack, role: str, *, within: float) -> float:
    """SIGTERM, as Kubernetes sends it; returns how long the role took to exit (cleanly)."""
    process = stack.processes.pop(role)
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=within) == 0, stack.logs()
    return time.monotonic() - started


def test_web_probe_answers_through_gunicorn_and_fails_when_it_hangs_or_stops(stack, role_env):
    start_role(stack, "web", role_env)
    healthy = wait_healthy("web", env=role_env)
    assert "/healthz answered 200" in healthy.stdout
    # /readyz: database, cache and broker all answer (the readiness probe).
    assert probe("web", "--path", "/readyz", env=role_env).returncode == 0
    # Without POD_IP or a Host from ALLOWED_HOSTS Django refuses the request: the probe's Host
    # header is what makes it pass.
    refused = probe("web", env={**role_env, "ALLOWED_HOSTS": "127.0.0.2"})
    assert refused.returncode == 1
    assert "answered 400" in refused.stdout
    # The image's HEALTHCHECK: no role given, it reads the process's command line.
    assert probe("--pid", str(stack.processes["web"].pid), env=role_env).stdout == healthy.stdout

    freeze(stack.processes["web"])
    try:
        hung = probe("web", "--timeout", "2", env=role_env)
        assert hung.returncode == 1, hung.stdout
        assert "timed out" in hung.stdout
    finally:
        thaw(stack.processes["web"])
    wait_healthy("web", env=role_env, timeout=15)

    # gunicorn's graceful stop, well inside terminationGracePeriodSeconds.
    assert stop(stack, "web", within=40) < 35
    gone = probe("web", env=role_env)
    assert gone.returncode == 1
    assert "Connection refused" in gone.stdout


def test_worker_probe_pings_this_node_and_fails_when_it_hangs_or_stops(stack, role_env):
    # The delivery-worker and notifications-worker roles are the same `celery worker` with other
    # queues, and take the same node name: one of them on this host at a time.
    start_role(stack, "delivery-worker", role_env)
    wait_for_log(stack, "delivery-worker", " ready.")
    healthy = wait_healthy("worker", env=role_env)
    assert f"pinging celery@{socket.gethostname()}" in healthy.stdout
    assert "pong" in healthy.stdout
    auto = probe("--pid", str(stack.processes["delivery-worker"].pid), env=role_env)
    assert auto.returncode == 0
    assert "pong" in auto.stdout
    # Another node's name gets no answer: the probe checks this worker, not any worker.
    assert probe("worker", "--node", "celery@another-pod", "--timeout", "2", env=role_env).returncode == 69

    freeze(stack.processes["delivery-worker"])
    try:
        hung = probe("worker", "--timeout", "2", env=role_env)
        assert hung.returncode == 69, hung.stdout + hung.stderr
        assert "No nodes replied" in hung.stderr
    finally:
        thaw(stack.processes["delivery-worker"])
    wait_healthy("worker", env=role_env, timeout=30)

    # Warm shutdown with nothing running: quick, and inside terminationGracePeriodSeconds (70 s).
    assert stop(stack, "delivery-worker", within=60) < 30
    assert probe("worker", "--timeout", "2", env=role_env).returncode == 69


def test_beat_probe_pings_beats_own_node_and_fails_when_it_hangs_or_stops(stack, role_env):
    start_role(stack, "beat", role_env)
    wait_for_log(stack, "beat", "beat pidbox: Connected to")
    healthy = wait_healthy("beat", env=role_env)
    assert f"pinging celerybeat@{socket.gethostname()}" in healthy.stdout
    assert "pong" in healthy.stdout
    # It ran the schedule: the file is where CELERY_BEAT_SCHEDULE_FILENAME says (the emptyDir).
    assert list(Path(role_env["CELERY_BEAT_SCHEDULE_FILENAME"]).parent.glob("celerybeat-schedule*"))

    freeze(stack.processes["beat"])
    try:
        assert probe("beat", "--timeout", "2", env=role_env).returncode == 69
    finally:
        thaw(stack.processes["beat"])

    assert stop(stack, "beat", within=25) < 20
    assert probe("beat", "--timeout", "2", env=role_env).returncode == 69


def test_dispatcher_heartbeat_is_fresh_while_it_runs_and_goes_stale_when_it_hangs_or_stops(stack, role_env):
    heartbeat = Path(role_env["OUTBOX_DISPATCHER_HEARTBEAT_FILE"])
    # Left by the previous container of the same pod (same user): removed at start, so it
    # cannot vouch for the new process before that process's first beat.
    heartbeat.write_text("left by the previous container")
    if can_contain():
        os.chown(heartbeat, APP_UID, APP_UID)
    start_role(stack, "dispatcher", role_env)
    wait_for_log(stack, "dispatcher", "listening on outbox_events")
    healthy = wait_healthy("heartbeat", "--max-age", "2", env=role_env, timeout=10)
    assert "touched" in healthy.stdout
    assert heartbeat.read_text() == "", "the old file was touched, not replaced"
    assert probe("--pid", str(stack.processes["dispatcher"].pid), env=role_env).returncode == 0
    # The file belongs to the image's user: the role wrote it itself.
    if can_contain():
        assert heartbeat.stat().st_uid == APP_UID

    freeze(stack.processes["dispatcher"])
    try:
        time.sleep(3)
        stale = probe("heartbeat", "--max-age", "2", env=role_env)
        assert stale.returncode == 1
        assert "last touched" in stale.stdout
    finally:
        thaw(stack.processes["dispatcher"])
    wait_healthy("heartbeat", "--max-age", "2", env=role_env, timeout=10)

    assert stop(stack, "dispatcher", within=25) < 10
    time.sleep(3)
    assert probe("heartbeat", "--max-age", "2", env=role_env).returncode == 1


def test_wait_migrations_holds_a_role_back_until_the_schema_is_current(stack, role_env):
    empty = f"mr_sys_empty_{uuid.uuid4().hex[:8]}"
    harness.pg_execute(f"CREATE DATABASE {empty}")
    try:
        waiting = start_role(stack, "wait-migrations", {**role_env, "DATABASE_URL": harness.db_url(empty)})
        log = stack.workdir / "wait-migrations.log"
        harness.wait_until(lambda: "waiting for migrations" in log.read_text(), timeout=30, what="the wait")
        time.sleep(5)
        assert waiting.poll() is None, "it gave up before the schema was migrated"
        stack.kill("wait-migrations", signal.SIGTERM)
    finally:
        harness.pg_execute(f"DROP DATABASE IF EXISTS {empty} WITH (FORCE)")

    done = start_role(stack, "wait-migrations", role_env)  # the migrated template
    assert done.wait(timeout=60) == 0
    assert "migrations are applied" in (stack.workdir / "wait-migrations.log").read_text()
