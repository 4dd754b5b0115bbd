"""The embedded broker under concurrent producers and consumers: nothing lost, nothing read twice,
nothing read half-written.

Separate processes, as web, worker and beat are under ``make run``: each producer publishes its
messages (with padding, so a write is not one syscall's worth), each consumer drains the queue
until it has seen nothing for a while. kombu's own filesystem transport fails this test: a
consumer reads a file its producer is still writing (``JSONDecodeError``).
"""

import multiprocessing
import queue as queue_module
import time

from kombu import Connection, Exchange, Queue

from config.celery_options import broker_transport_options

PRODUCERS = 4
CONSUMERS = 4
PER_PRODUCER = 750
TRANSPORT = "config.filesystem_broker:Transport"
EXCHANGE = Exchange("default", type="direct")
QUEUE = Queue("default", EXCHANGE, routing_key="default")


def _produce(options, producer: int, count: int, errors) -> None:
    try:
        with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
            publish = connection.Producer().publish
            for n in range(count):
                body = {"producer": producer, "n": n, "padding": "x" * (n % 50) * 1000}
                publish(body, exchange=EXCHANGE, routing_key="default", declare=[QUEUE])
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        errors.put(f"producer {producer}: {exc!r}")


def _consume(options, consumer: int, received, errors, producers_done) -> None:
    seen = []
    try:
        with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
            channel = connection.default_channel
            idle_since = None
            while True:
                message = QUEUE(channel).get(no_ack=True)
                if message is not None:
                    payload = message.payload
                    if payload["padding"] != "x" * (payload["n"] % 50) * 1000:
                        errors.put(f"consumer {consumer}: a damaged message {payload['producer']}/{payload['n']}")
                    seen.append((payload["producer"], payload["n"]))
                    idle_since = None
                    continue
                time.sleep(0.005)
                if producers_done.is_set():
                    # Empty after every producer finished: drained (a second look, to be sure).
                    if idle_since is not None:
                        break
                    idle_since = True
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        errors.put(f"consumer {consumer}: {exc!r}")
    received.put(seen)


def test_concurrent_producers_and_consumers_lose_nothing_and_read_nothing_twice_or_half(tmp_path):
    options = broker_transport_options("filesystem://", var_dir=tmp_path, socket_timeout=1, hard_time_limit=1)
    context = multiprocessing.get_context("spawn")
    received, errors, producers_done = context.Queue(), context.Queue(), context.Event()
    consumers = [
        context.Process(target=_consume, args=(options, c, received, errors, producers_done)) for c in range(CONSUMERS)
    ]
    producers = [context.Process(target=_produce, args=(options, p, PER_PRODUCER, errors)) for p in range(PRODUCERS)]
    for process in consumers + producers:
        process.start()
    try:
        for process in producers:
            process.join(timeout=120)
        producers_done.set()
        batches = [received.get(timeout=120) for _ in consumers]
        for process in consumers:
            process.join(timeout=30)
    finally:
        for process in consumers + producers:
            if process.is_alive():
                process.kill()
    problems = []
    while True:
        try:
            problems.append(errors.get_nowait())
        except queue_module.Empty:
            break

    everything = [item for batch in batches for item in batch]
    assert problems == []
    assert len(everything) == PRODUCERS * PER_PRODUCER
    assert set(everything) == {(p, n) for p in range(PRODUCERS) for n in range(PER_PRODUCER)}
    # Every consumer took part (the claim is shared, not one consumer's by accident).
    assert all(batches)
    # Nothing left behind: no message file, no half-written file, no claimed file.
    assert list((tmp_path / "broker" / "out").iterdir()) == []
    assert list((tmp_path / "broker" / "processed").iterdir()) == []
