"""Real processes on loopback for the system tests: databases, brokers, SMTP, web/worker/beat.

Everything here is private to one test run: databases and RabbitMQ vhosts get unique names,
Redis is a redis-server of our own on a free port. Every wait is bounded.
"""

import contextlib
import email
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DISPATCHER_COMMAND = ROOT / "apps" / "core" / "management" / "commands" / "outbox_dispatcher.py"
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


class TcpOutage:
    """A loopback TCP relay in front of a shared server, so a test can cut it off: ``stop`` closes
    the listener and every relayed connection (clients see resets, then refused connections, as
    from a broker that went away); ``start`` listens again on the same port. The shared server
    behind it (the machine's RabbitMQ node, which tests may not stop) keeps running."""

    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


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
            THROTTLE_LOGIN_ACCOUNT="100000/min",
            THROTTLE_LOGIN_IP="100000/min",
            THROTTLE_PARTNER="100000/min",
            THROTTLE_PASSWORD_CHANGE="100000/min",
            THROTTLE_ACCOUNT_EMAIL="100000/min",
            THROTTLE_ACCOUNT_EMAIL_IP="100000/min",
            JWT_ACCESS_MINUTES="60",
            OUTBOX_RELAY_INTERVAL="1",
            OUTBOX_LEASE_SECONDS="10",
            OUTBOX_CONFIRM_TIMEOUT_SECONDS="15",
            NOTIFICATIONS_SWEEP_INTERVAL="1",
            NOTIFICATIONS_SWEEP_GRACE_SECONDS="5",
            OUTBOUND_RETRY_BASE_SECONDS="0.5",
            OUTBOUND_RETRY_CAP_SECONDS="2",
            OUTBOUND_MAX_ATTEMPTS="100",
            NOTIFICATIONS_DELIVERY_LEASE_SECONDS="10",
            CELERY_BEAT_SCHEDULE_FILENAME=str(self.workdir / f"beat-{uuid.uuid4().hex[:6]}"),
        )
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def notifications_env(self, *, database_url: str, broker_url: str, cache_url: str, smtp_port: int, **overrides):
        """The environment of the separate notifications deployment (``config.settings.notifications``):
        its own database, the main deployment's broker, and what production settings, which
        these are, refuse to start without (a cache, a token for /metrics)."""
        return self.env(
            DJANGO_SETTINGS_MODULE="config.settings.notifications",
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            REDIS_URL=cache_url,
            METRICS_TOKEN="system-test-metrics-token",
            EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
            SECURE_SSL_REDIRECT="false",
            **overrides,
        )

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def web(self, name: str, env: dict, *, workers: int = 2, extra: tuple[str, ...] = ()) -> str:
        """The web role's server as the entrypoint runs it (``config/server.py``: granian, WSGI)."""
        return self._serve(name, "web", env, workers=workers, extra=("--threads", "4", "--timeout", "60", *extra))

    def stream(self, name: str, env: dict, *, workers: int = 1, extra: tuple[str, ...] = ()) -> str:
        """The ASGI role as the entrypoint runs it: granian on config.asgi (``config/server.py``)."""
        return self._serve(name, "stream", env, workers=workers, extra=("--graceful-timeout", "5", *extra))

    def _serve(self, name: str, role: str, env: dict, *, workers: int, extra: tuple[str, ...]) -> str:
        port = free_port()
        self.start(
            name,
            [
                sys.executable,
                "-m",
                "config.server",
                role,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *extra,
            ],
            env,
        )
        base = f"http://127.0.0.1:{port}"
        # A loaded machine (CI runs two suites at once) can take over 30 s to import and bind.
        wait_until(lambda: http("GET", base + "/healthz")[0] == 200, timeout=90, what=f"{name} /healthz")
        return base

    def supervised(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        """``args`` under bin/supervise, as `make run` runs it: an exit is restarted, not final."""
        return self.start(
            name,
            [
                sys.executable,
                str(ROOT / "bin" / "supervise"),
                "--name",
                name,
                "--min-backoff",
                "0.5",
                "--max-backoff",
                "4",
                "--stable-after",
                "10",
                "--stop-timeout",
                "20",
                "--",
                *args,
            ],
            env,
        )

    def restarts(self, name: str) -> int:
        """How many times the supervisor restarted ``name`` (it logs one line per restart)."""
        text = (self.workdir / f"{name}.log").read_text(errors="replace")
        return text.count(f"supervise[{name}]: restart ")

    def alive(self, name: str) -> bool:
        return self.processes[name].poll() is None

    def worker(
        self,
        name: str,
        env: dict,
        queues: str = "default,notifications,deliveries",
        *,
        pool: str = "prefork",
        concurrency: int = 2,
        supervised: bool = False,
    ) -> subprocess.Popen:
        return (self.supervised if supervised else self.start)(
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
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "-n",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env,
        )

    def beat(self, name: str, env: dict, *, supervised: bool = False) -> subprocess.Popen:
        args = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
        return (self.supervised if supervised else self.start)(name, args, env)

    def dispatcher(self, name: str, env: dict) -> subprocess.Popen | None:
        """The outbox dispatcher role (LISTEN/NOTIFY), supervised; None where it does not exist yet.

        Without it only the beat relay (OUTBOX_RELAY_INTERVAL) moves events to the broker.
        """
        if not DISPATCHER_COMMAND.exists():
            return None
        return self.supervised(name, [sys.executable, "manage.py", "outbox_dispatcher"], env)

    def production_stack(self, env: dict) -> str:
        """Web, ingest worker, delivery worker, beat and dispatcher as docker/compose.yml runs them
        (8 threads per pool, each Celery role under a supervisor); returns the web base URL."""
        base = self.web("web", env)
        self.worker("worker", env, "default,notifications", pool="threads", concurrency=8, supervised=True)
        self.worker("delivery-worker", env, "deliveries", pool="threads", concurrency=8, supervised=True)
        self.beat("beat", env, supervised=True)
        self.dispatcher("dispatcher", env)
        return base

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
from django.db import transaction
from rest_framework_simplejwt.tokens import RefreshToken
from apps.accounts.events import EmailVerificationRequested
from apps.core.models import OutboxEvent
from apps.customers.services import customer_register
from apps.providers.services import provider_register
from django.test.utils import override_settings
tag, n_customers, n_providers = {tag!r}, {customers}, {providers}
out = {{"customers": [], "providers": []}}
# One transaction, and the seeded accounts' verification emails taken back out of the outbox
# before it commits: the tests count the notifications and emails their ratings cause, and a
# dispatcher only ever sees committed rows.
with transaction.atomic():
    # A fast hasher for customers: seeding a thousand with PBKDF2 would take minutes, and they use
    # the tokens minted here. Providers keep the real hasher: some tests sign in as them.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for i in range(n_customers):
            c = customer_register(email=f"c{{i}}-{{tag}}@example.com", password={password!r}, name=f"Customer {{i}}")
            out["customers"].append({{"id": str(c.pk), "token": str(RefreshToken.for_user(c.user).access_token)}})
    for i in range(n_providers):
        p = provider_register(email=f"p{{i}}-{{tag}}@example.com", password={password!r}, name=f"Provider {{i}}",
                              description="", services=[])
        out["providers"].append({{"id": str(p.pk), "user_id": str(p.user_id), "email": p.user.email,
                                 "token": str(RefreshToken.for_user(p.user).access_token)}})
    OutboxEvent.objects.filter(type=EmailVerificationRequested.TYPE).delete()
print("SEED" + json.dumps(out))
"""


def seed(env: dict, *, customers: int, providers: int) -> dict:
    script = SEED_SCRIPT.format(tag=uuid.uuid4().hex[:6], customers=customers, providers=providers, password=PASSWORD)
    out = manage(env, "shell", "-c", script)
    return json.loads(out.split("SEED", 1)[1])


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    api_key: str | None = None,
    body: dict | None = None,
    timeout: float = 30,
):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if api_key:
        headers["Authorization"] = f"Api-Key {api_key}"
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
    return post_pairs(base, pairs, threads=threads)


def post_pairs(base: str, pairs: list, *, threads: int = 8, pause: float = 0.0) -> list[tuple[int, float, dict]]:
    """Post one rating per (customer, provider) pair; ``pause`` spaces each thread's requests."""

    def post(pair):
        customer, provider = pair
        started = time.monotonic()
        status, body = http(
            "POST",
            base + "/api/v1/ratings/",
            token=customer["token"],
            body={"provider_id": provider["id"], "score": 4, "comment": "system test"},
        )
        if pause:
            time.sleep(pause)
        return status, time.monotonic() - started, body

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(post, pairs))


# --- Private PostgreSQL cluster ------------------------------------------------------------
class PrivatePostgres:
    """initdb + pg_ctl on a free port, so it can be stopped without touching anybody else.

    PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` user.
    """

    BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self):
        import tempfile

        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mr-sys-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    def _run(self, *args: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, timeout=timeout, capture_output=True)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def copy_database(self, source_url: str, name: str) -> str:
        """Create ``name`` here with the schema and rows of ``source_url`` (pg_dump | psql)."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        dump = subprocess.run(
            [str(self.BIN / "pg_dump"), "--no-owner", source_url], check=True, timeout=120, capture_output=True
        )
        subprocess.run(
            [str(self.BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(name)],
            input=dump.stdout,
            check=True,
            timeout=120,
            capture_output=True,
        )
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Webhook receivers, one loopback address per "host" --------------------------------------
class HookHost:
    """An HTTP receiver on its own loopback address (127.0.0.N): a separate origin (host and
    port) to the breakers and per-destination limits, whatever its endpoints do.

    ``mode``: "ok" answers 200, "flaky" answers 500 to every other request (per webhook-id: the
    first try fails, the retry succeeds), "5xx" answers 500 to every request, "hang" accepts
    connections and never answers (a keep-alive connection opened before reads its next request
    and holds it too). ``set_mode`` switches it while it runs. Records the arrival time of every
    request and which webhook-ids were answered 200.
    """

    def __init__(self, address: str, mode: str = "ok"):
        self.address = address
        self.mode = mode
        self.lock = threading.Lock()
        self.seen: Counter = Counter()
        self.accepted: Counter = Counter()
        self.accepted_at: dict[str, float] = {}
        self.held: list[socket.socket] = []
        self.closing = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.address}:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == "hang":
                with self.lock:
                    self.held.append(conn)
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def set_mode(self, mode: str) -> None:
        """Switch the answers from the next request on; leaving "hang" drops the held connections."""
        with self.lock:
            self.mode = mode
            held, self.held = (self.held, []) if mode != "hang" else ([], self.held)
        for conn in held:
            with contextlib.suppress(OSError):
                conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        reader = conn.makefile("rb")
        held = False
        try:
            while True:
                request_line = reader.readline()
                if not request_line:
                    return
                headers = {}
                while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                reader.read(int(headers.get("content-length") or 0))
                webhook_id = headers.get("webhook-id", "")
                with self.lock:
                    if self.mode == "hang":
                        # Without this a client's pooled connection would still be answered.
                        self.held.append(conn)
                        held = True
                        return
                    self.seen[webhook_id] += 1
                    fail = self.mode == "5xx" or (self.mode == "flaky" and self.seen[webhook_id] % 2 == 1)
                    if not fail:
                        self.accepted[webhook_id] += 1
                        self.accepted_at.setdefault(webhook_id, time.time())
                status = b"500 Internal Server Error" if fail else b"200 OK"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
                if headers.get("connection", "").lower() == "close":
                    return
        except OSError:
            return
        finally:
            if not held:
                conn.close()

    def close(self) -> None:
        self.closing.set()
        self.thread.join(timeout=5)
        self.sock.close()
        with self.lock:
            for conn in self.held:
                conn.close()


# --- OpenTelemetry collector -----------------------------------------------------------------
class OtlpCollector:
    """An OTLP/HTTP (protobuf) trace receiver on loopback: what the processes export, decoded.

    Each span is kept as a dict: service (the resource's service.name), trace_id/span_id/
    parent_span_id (hex), name, kind, attributes and links (span ids, hex).
    """

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.spans: list[dict] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                collector._receive(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _receive(self, path: str, body: bytes) -> None:
        if path != "/v1/traces":
            return
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        {
                            "service": resource.get("service.name"),
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": span.kind,
                            "attributes": {a.key: _otlp_value(a.value) for a in span.attributes},
                            "links": [link.span_id.hex() for link in span.links],
                        }
                    )
        with self.lock:
            self.spans.extend(received)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.spans)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _otlp_value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


# --- PgBouncer -----------------------------------------------------------------------------
class PrivatePgBouncer:
    """Debian's pgbouncer in transaction mode on a free port, in front of the test PostgreSQL.

    It refuses to run as root: as root it switches to the ``postgres`` user (``-u``).
    """

    def __init__(self):
        import tempfile

        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user cannot enter it.
        self.dir = Path(tempfile.mkdtemp(prefix="mr-sys-pgbouncer-"))
        self.process = None

    def url(self, database_url: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database_url.rsplit('/', 1)[1]}"

    def start(self) -> None:
        upstream = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={upstream.hostname} port={upstream.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'userlist.txt'}\nadmin_users = postgres\n"
            "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 200\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\npidfile = {self.dir / 'pgbouncer.pid'}\n"
        )
        command = ["pgbouncer", str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            for path in self.dir.iterdir():
                shutil.chown(path, "postgres")
            command[1:1] = ["-u", "postgres"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=15, what="pgbouncer")

    def _answers(self) -> bool:
        try:
            self.show("SHOW VERSION")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False
        return True

    def show(self, what: str) -> list[dict[str, str]]:
        """A ``SHOW …`` command on the admin console (psql: it speaks only the simple protocol)."""
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "pgbouncer", "-AF|", "-c", what],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.splitlines()
        header = out[0].split("|")
        return [dict(zip(header, line.split("|"), strict=False)) for line in out[1:] if "|" in line]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
