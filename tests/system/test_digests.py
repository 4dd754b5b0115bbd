"""A digest is one email, even when the worker sending it is SIGKILLed mid-send.

Real processes (web, worker, beat), a private Redis broker, PostgreSQL and an aiosmtpd server on
loopback. The processes' clocks cannot be frozen, so "the hour passing" is the digest's period
moved back an hour in the database once its ratings are in.
"""

import asyncio
import email
import signal
import threading
import time

import pytest

from tests.system.harness import SmtpSink, http, post_ratings, query, scalar, seed, wait_until

pytestmark = pytest.mark.system


class HoldingSink(SmtpSink):
    """Holds the first digest email in DATA, without answering, until ``release`` is set; then
    refuses it (451): the client never saw a 250, so the message was never accepted. Every other
    email is accepted and recorded with its body."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.bodies: dict[str, str] = {}

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        if message["Subject"].startswith("Your hourly digest") and not self.holding.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Requested action aborted: try again later"
        text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
        with self._lock:
            self.bodies[message["Message-ID"].strip()] = text.get_payload(decode=True).decode().replace("\r\n", "\n")
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_smtp():
    sink = HoldingSink()
    sink.start()
    yield sink
    sink.release.set()
    sink.stop()


def test_a_worker_killed_mid_digest_still_sends_exactly_one_digest_email(stack, make_db, holding_smtp, redis_broker):
    db = make_db()
    env = stack.env(
        DATABASE_URL=db,
        CELERY_BROKER_URL=redis_broker.url,
        EMAIL_URL=f"smtp://127.0.0.1:{holding_smtp.port}",
        NOTIFICATIONS_DIGEST_INTERVAL="1",
    )
    base = stack.web("web", env)
    stack.worker("worker", env)
    stack.beat("beat", env)
    seeded = seed(env, customers=3, providers=1)
    provider = seeded["providers"][0]
    status, body = http(
        "PATCH",
        base + "/api/v1/notifications/schedule/",
        token=provider["token"],
        body={"rating_emails": "hourly", "time_zone": "Europe/Berlin"},
    )
    assert (status, body) == (200, {"time_zone": "Europe/Berlin", "rating_emails": "hourly", "quiet_hours": None})

    assert [s for s, _, _ in post_ratings(base, seeded, 3)] == [201] * 3
    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM notifications_digestitem") == 3, timeout=60, what="3 digest items"
    )
    assert scalar(db, "SELECT count(*) FROM notifications_notification") == 3  # the inbox is immediate
    assert scalar(db, "SELECT count(*) FROM notifications_delivery") == 0  # no email per rating
    (digest_id,) = query(db, "SELECT id FROM notifications_digest")[0]

    # The hour passes: beat's closer makes the digest's one delivery, the worker starts sending it.
    query(
        db,
        "UPDATE notifications_digest SET period_start = period_start - interval '1 hour', "
        "period_end = period_end - interval '1 hour' RETURNING id",
    )
    wait_until(holding_smtp.holding.is_set, timeout=60, what="the digest email in DATA")
    assert scalar(db, "SELECT status FROM notifications_delivery") == "sending"
    stack.kill("worker", signal.SIGKILL)
    holding_smtp.release.set()
    stack.worker("worker-after-kill", env)

    message_id = f"<{digest_id}.{provider['user_id']}@marketplace-ratings.local>"
    # The lease (NOTIFICATIONS_DELIVERY_LEASE_SECONDS) expires, the sweeper hands it to the new worker.
    wait_until(lambda: holding_smtp.counts(), timeout=90, what="the digest email accepted")
    time.sleep(3)  # a duplicate would show up now
    assert holding_smtp.counts() == {message_id: 1}
    assert query(db, "SELECT status, attempts FROM notifications_delivery") == [("sent", 2)]
    assert scalar(db, "SELECT count(*) FROM notifications_digest WHERE closed_at IS NOT NULL") == 1
    body = holding_smtp.bodies[message_id]
    # (Its times are of the period as moved back, an hour before the ratings' own.)
    assert body.startswith("Your hourly digest: 3 new ratings, ")
    assert body.count("4/5 from Customer ") == 3
    # The summary travelled in the rating events: none before, three 4-star ratings after.
    assert "Your rating: none → 4.00 from 3 ratings.\n" in body
    print(f"\ndigest {digest_id}: one email after a SIGKILL mid-send ({holding_smtp.recipients})")
