"""``manage.py outbox_dispatcher``: sends outbox events to the broker as soon as they commit.

On PostgreSQL a connection of its own LISTENs on ``outbox_events`` (``publish()`` NOTIFYs in the
rating's transaction, so the wake-up arrives at commit); it dispatches until nothing is due,
then waits for the next NOTIFY or ``OUTBOX_DISPATCHER_POLL_SECONDS`` (resends of unconfirmed
events have no NOTIFY). SQLite has no LISTEN: it polls every ``OUTBOX_DISPATCHER_SQLITE_POLL_SECONDS``.
Several may run (rows are claimed with SKIP LOCKED). Database and broker errors never end it:
it logs, reconnects and retries with a bounded backoff; SIGTERM/SIGINT end it within
``WAIT_SLICE_SECONDS``. psycopg's own notification API is used: Django has no LISTEN support.
With ``OUTBOX_DISPATCHER_HEARTBEAT_FILE`` set it touches that file while its loop makes progress
(``apps.core.heartbeat``): the container's liveness probe (``bin/probe heartbeat``).
"""

import logging
import signal
import time

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection, connections

from apps.core import tracing
from apps.core.heartbeat import Heartbeat
from apps.core.outbox import NOTIFY_CHANNEL, outbox_dispatch, outbox_dispatch_round

logger = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
# Longest a wait goes without looking at the stop flag: how fast SIGTERM takes effect.
WAIT_SLICE_SECONDS = 0.2
LISTEN_CONNECT_TIMEOUT = 5
CONNECTION_CHECK_SECONDS = 1.0


def publisher_confirms() -> None:
    """On RabbitMQ, this process's publishes wait for the broker's confirmation.

    Without it, a batch written into a connection that the broker (or the network) is dropping
    raises nothing: its events count as dispatched and wait out OUTBOX_CONFIRM_TIMEOUT_SECONDS
    before they are sent again (the broker-rabbitmq row of ``bench/faults.py``). Confirmed,
    such a publish fails and the next round sends the batch again. Only
    here, before the first connection: the dispatcher bounds each wait
    (OUTBOX_PUBLISH_CONFIRM_TIMEOUT_SECONDS, ``apps.core.outbox``); other publishers do not.
    """
    from celery import current_app

    if current_app.conf.broker_url.split("://", 1)[0] in ("amqp", "pyamqp", "amqps"):
        options = dict(current_app.conf.broker_transport_options or {})
        options["confirm_publish"] = True
        current_app.conf.broker_transport_options = options


def _backoff(failures: int) -> float:
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (failures - 1))


class Dispatcher:
    def __init__(self):
        # Set from a signal handler: a plain flag, since a lock (threading.Event) taken in a
        # handler can deadlock against the same lock held by the interrupted code.
        self.stopping = False
        self.listener: psycopg.Connection | None = None
        self.postgres = connection.vendor == "postgresql"
        self.poll = (
            settings.OUTBOX_DISPATCHER_POLL_SECONDS if self.postgres else settings.OUTBOX_DISPATCHER_SQLITE_POLL_SECONDS
        )
        self.heartbeat = Heartbeat(settings.OUTBOX_DISPATCHER_HEARTBEAT_FILE)

    def run(self) -> None:
        logger.info("outbox dispatcher: started (%s), polling every %.1f s", connection.vendor, self.poll)
        failures = 0
        checked_at = 0.0
        while not self.stopping:
            self.heartbeat.beat()
            try:
                # CONN_MAX_AGE and CONN_HEALTH_CHECKS apply between rounds as between requests, at
                # most once a second: under load a round follows every commit, and a health check
                # per round would double its queries. A round that fails resets the connections.
                if time.monotonic() - checked_at >= CONNECTION_CHECK_SECONDS:
                    close_old_connections()
                    checked_at = time.monotonic()
                # LISTEN before looking: a row committed after the look still wakes the wait.
                self._listen()
                # A backlog (after a broker outage) takes many batches: each one is progress.
                result = outbox_dispatch_round(path="dispatcher", progress=self.heartbeat.beat)
                if result.broker_failed:
                    failures += 1
                    self._sleep(_backoff(failures))
                    continue
                failures = 0
                self._wait()
            except Exception:
                failures += 1
                logger.exception("outbox dispatcher: round failed; reconnecting in %.1f s", _backoff(failures))
                self._reset()
                self._sleep(_backoff(failures))
        self._close_listener()
        connections.close_all()
        logger.info("outbox dispatcher: stopped")

    def _listen(self) -> None:
        if not self.postgres or self.listener is not None:
            return
        params = connection.get_connection_params()
        params.setdefault("connect_timeout", LISTEN_CONNECT_TIMEOUT)
        listener = psycopg.connect(**params, autocommit=True)
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self.listener = listener
        logger.info("outbox dispatcher: listening on %s", NOTIFY_CHANNEL)

    def _wait(self) -> None:
        """Until a NOTIFY, the poll interval or a stop; then drop the other pending NOTIFYs."""
        deadline = time.monotonic() + self.poll
        while not self.stopping:
            self.heartbeat.beat()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.listener is None:
                time.sleep(min(remaining, WAIT_SLICE_SECONDS))
                continue
            # Asked for one, but every NOTIFY of the packet that brought it comes: all count.
            received = list(self.listener.notifies(timeout=min(remaining, WAIT_SLICE_SECONDS), stop_after=1))
            if received:
                self._linger(seen=len(received))
                return

    def _linger(self, *, seen: int = 1) -> None:
        """After the first NOTIFY, gather more commits into the same round (Kafka's ``linger.ms``).

        Up to ``OUTBOX_DISPATCH_LINGER_SECONDS``, or until ``OUTBOX_DISPATCH_LINGER_EVENTS``
        commits have notified: a round's fixed costs (the claim, one Celery message, the
        consumer's transaction, its deliveries' messages and sessions) are then shared by every
        event it carries. Under load the batch grows with the rate; a lone rating waits only the
        linger. One round serves every commit so far, however many NOTIFYs they sent.
        """
        wanted = settings.OUTBOX_DISPATCH_LINGER_EVENTS
        deadline = time.monotonic() + settings.OUTBOX_DISPATCH_LINGER_SECONDS
        while not self.stopping and seen < wanted and (remaining := deadline - time.monotonic()) > 0:
            seen += len(
                list(self.listener.notifies(timeout=min(remaining, WAIT_SLICE_SECONDS), stop_after=wanted - seen))
            )
        # Drop what is left over: the round claims every row committed so far.
        list(self.listener.notifies(timeout=0))

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (remaining := deadline - time.monotonic()) > 0:
            self.heartbeat.beat()
            time.sleep(min(remaining, WAIT_SLICE_SECONDS))

    def request_stop(self, signum, frame) -> None:
        self.stopping = True

    def _close_listener(self) -> None:
        if self.listener is not None:
            try:
                self.listener.close()
            except Exception:  # already broken: nothing left to close
                logger.debug("outbox dispatcher: closing the LISTEN connection failed", exc_info=True)
            self.listener = None

    def _reset(self) -> None:
        self._close_listener()
        connections.close_all()


class Command(BaseCommand):
    help = "Send committed outbox events to the broker (LISTEN/NOTIFY on PostgreSQL, polling on SQLite)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Dispatch what is due now, then exit.")

    def handle(self, *args, once: bool = False, **options):
        tracing.setup("dispatcher")
        publisher_confirms()
        if once:
            sent = outbox_dispatch(path="dispatcher")
            self.stdout.write(f"{sent} outbox events dispatched")
            return
        dispatcher = Dispatcher()
        signal.signal(signal.SIGTERM, dispatcher.request_stop)
        signal.signal(signal.SIGINT, dispatcher.request_stop)
        dispatcher.run()
