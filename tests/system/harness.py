"""Real processes on loopback for the system tests: databases, brokers, SMTP, web/worker/beat.

Everything here is private to one test run: databases and RabbitMQ vhosts get unique names,
Redis is a redis-server of our own on a free port. Every wait is bounded.
"""

import contextlib
import email
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "system-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "system-test-password-42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


# --- PostgreSQL ---------------------------------------------------------------------------
def pg_admin_url() -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"


def pg_execute(sql: str) -> None:
    with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
        conn.execute(sql)


def db_url(name: str) -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name


def query(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(url: str, sql: str, params=()):
    return query(url, sql, params)[0][0]


# --- Redis ---------------------------------------------------------------------------------
class PrivateRedis:
    """A redis-server of our own, so stopping it touches nobody else."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


# --- RabbitMQ ------------------------------------------------------------------------------
def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=60, capture_output=True)


class PrivateVhost:
    def __init__(self):
        self.name = f"mr_sys_{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{self.name}"

    def create(self) -> None:
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def delete(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.name], timeout=60, capture_output=True)


# --- SMTP ----------------------------------------------------------------------------------
class SmtpSink:
    """A real SMTP server (aiosmtpd) that records the Message-ID of every accepted email."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.message_ids: list[str] = []
        self.recipients: list[str] = []
        self._lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.message_ids.append(message["Message-ID"].strip())
            self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.message_ids)


# --- Application processes -------------------------------------------------------------------
class Stack:
    """Starts web, worker and beat processes and stops them (whole process groups) at the end."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen] = {}

    def env(self, **overrides) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "REDIS_URL", "CACHE_KEY_PREFIX"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DEBUG="false",
            SECRET_KEY=SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
            THROTTLE_ANON="100000/min",
            THROTTLE_USER="100000/min",
            THROTTLE_RATING_SUBMIT="100000/min",
            JWT_ACCESS_MINUTES="60",
            OUTBOX_RELAY_INTERVAL="1",
            OUTBOX_LEASE_SECONDS="10",
            OUTBOX_CONFIRM_TIMEOUT_SECONDS="15",
            NOTIFICATIONS_SWEEP_INTERVAL="1",
            NOTIFICATIONS_SWEEP_GRACE_SECONDS="5",
            NOTIFICATIONS_RETRY_BASE_SECONDS="0.5",
            NOTIFICATIONS_RETRY_MAX_SECONDS="2",
            NOTIFICATIONS_MAX_ATTEMPTS="100",
            NOTIFICATIONS_DELIVERY_LEASE_SECONDS="10",
            CELERY_BEAT_SCHEDULE_FILENAME=str(self.workdir / f"beat-{uuid.uuid4().hex[:6]}"),
        )
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def web(self, name: str, env: dict) -> str:
        port = free_port()
        self.start(
            name,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--timeout",
                "60",
            ],
            env,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http("GET", base + "/healthz")[0] == 200, timeout=30, what=f"{name} /healthz")
        return base

    def worker(self, name: str, env: dict, queues: str = "default,notifications,deliveries") -> subprocess.Popen:
        return self.start(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queues,
                "--concurrency",
                "2",
                "-n",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env,
        )

    def beat(self, name: str, env: dict) -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"], env)

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
            self.processes.pop(name)

    def logs(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.workdir.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


SEED_SCRIPT = """
import json
from rest_framework_simplejwt.tokens import RefreshToken
from apps.customers.services import customer_register
from apps.providers.services import provider_register
tag, n_customers, n_providers = {tag!r}, {customers}, {providers}
out = {{"customers": [], "providers": []}}
for i in range(n_customers):
    c = customer_register(email=f"c{{i}}-{{tag}}@example.com", password={password!r}, name=f"Customer {{i}}")
    out["customers"].append({{"id": str(c.pk), "token": str(RefreshToken.for_user(c.user).access_token)}})
for i in range(n_providers):
    p = provider_register(email=f"p{{i}}-{{tag}}@example.com", password={password!r}, name=f"Provider {{i}}",
                          description="", services=[])
    out["providers"].append({{"id": str(p.pk), "user_id": str(p.user_id), "email": p.user.email,
                             "token": str(RefreshToken.for_user(p.user).access_token)}})
print("SEED" + json.dumps(out))
"""


def seed(env: dict, *, customers: int, providers: int) -> dict:
    script = SEED_SCRIPT.format(tag=uuid.uuid4().hex[:6], customers=customers, providers=providers, password=PASSWORD)
    out = manage(env, "shell", "-c", script)
    return json.loads(out.split("SEED", 1)[1])


def http(method: str, url: str, *, token: str | None = None, body: dict | None = None, timeout: float = 30):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def post_ratings(base: str, seeded: dict, count: int, *, threads: int = 8) -> list[tuple[int, float, dict]]:
    """Post ``count`` ratings, each a distinct (customer, provider) pair; returns (status, seconds, body)."""
    pairs = [(c, p) for c in seeded["customers"] for p in seeded["providers"]][:count]
    assert len(pairs) == count, "seed more customers/providers"

    def post(pair):
        customer, provider = pair
        started = time.monotonic()
        status, body = http(
            "POST",
            base + "/api/v1/ratings/",
            token=customer["token"],
            body={"provider_id": provider["id"], "score": 4, "comment": "system test"},
        )
        return status, time.monotonic() - started, body

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(post, pairs))
