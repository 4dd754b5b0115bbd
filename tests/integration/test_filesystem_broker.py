"""The embedded default's filesystem broker keeps all of its state under var/."""

import os
from pathlib import Path

from kombu import Connection, Exchange, Queue

from config.celery_options import broker_transport_options


def test_the_filesystem_broker_writes_only_under_var(tmp_path, monkeypatch):
    # Run from an empty directory: kombu's defaults are relative to the working directory.
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    var_dir = workdir / "var"
    options = broker_transport_options("filesystem://", var_dir=var_dir, socket_timeout=1, hard_time_limit=1)
    exchange = Exchange("default", type="direct")
    queue = Queue("default", exchange, routing_key="default")

    with Connection(
        "filesystem://", transport="config.filesystem_broker:Transport", transport_options=options
    ) as connection:
        connection.Producer().publish({"n": 1}, exchange=exchange, routing_key="default", declare=[queue])
        message = queue(connection.default_channel).get(no_ack=True)

    assert message.payload == {"n": 1}
    assert sorted(os.listdir(workdir)) == ["var"]
    assert sorted(p.name for p in (var_dir / "broker").iterdir()) == ["control", "out", "processed"]
    assert (var_dir / "broker" / "control" / "default.exchange").is_file()
    assert Path(options["control_folder"]) == var_dir / "broker" / "control"
