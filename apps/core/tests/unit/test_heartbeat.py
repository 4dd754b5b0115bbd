import os
import time

from apps.core.heartbeat import Heartbeat


def test_beat_creates_the_file_and_touches_it_at_most_once_per_interval(tmp_path, monkeypatch):
    path = tmp_path / "heartbeat"
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    heartbeat = Heartbeat(path, every=1.0)

    heartbeat.beat()
    assert path.exists()
    os.utime(path, (0, 0))
    clock[0] += 0.5
    heartbeat.beat()
    assert path.stat().st_mtime == 0, "touched again within the interval"
    clock[0] += 0.6
    heartbeat.beat()
    assert time.time() - path.stat().st_mtime < 5


def test_a_file_left_by_a_previous_process_does_not_vouch_for_this_one(tmp_path):
    path = tmp_path / "heartbeat"
    path.touch()
    Heartbeat(path)
    assert not path.exists()


def test_without_a_path_it_writes_nothing(tmp_path):
    heartbeat = Heartbeat("")
    heartbeat.beat()
    assert heartbeat.path is None
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_file_is_logged_not_raised(tmp_path, caplog):
    heartbeat = Heartbeat(tmp_path / "missing-dir" / "heartbeat")
    heartbeat.beat()
    assert "heartbeat: cannot touch" in caplog.text
