"""bin/supervise with real child processes: restarts with backoff, forwards stop signals."""

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SUPERVISE = Path(__file__).resolve().parents[2] / "bin" / "supervise"

# Appends its start time to STARTS, then behaves as MODE says.
CHILD = """
import os, signal, sys, time
with open(os.environ["STARTS"], "a") as f:
    f.write(f"{time.monotonic()}\\n")
mode = os.environ["MODE"]
if mode == "exit":
    sys.exit(3)
if mode == "term":
    def stop(signum, frame):
        with open(os.environ["STOPPED"], "a") as f:
            f.write(f"{signum}\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(os.environ["READY"], "w") as f:
    f.write(str(os.getpid()))
time.sleep(60)
"""


def _start(tmp_path, mode, *options):
    env = {
        **os.environ,
        "MODE": mode,
        "STARTS": str(tmp_path / "starts"),
        "STOPPED": str(tmp_path / "stopped"),
        "READY": str(tmp_path / "ready"),
    }
    return subprocess.Popen(
        [sys.executable, str(SUPERVISE), *options, "--", sys.executable, "-c", CHILD],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _starts(tmp_path) -> list[float]:
    path = tmp_path / "starts"
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def test_a_command_that_exits_is_restarted_with_a_doubling_backoff(tmp_path):
    supervisor = _start(tmp_path, "exit", "--min-backoff", "0.1", "--max-backoff", "0.4")
    try:
        deadline = time.monotonic() + 10
        while len(_starts(tmp_path)) < 5:
            assert time.monotonic() < deadline, "the command was not restarted"
            time.sleep(0.05)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        _, stderr = supervisor.communicate(timeout=10)
    starts = _starts(tmp_path)[:5]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # 0.1, 0.2, 0.4, then capped at 0.4 (plus the interpreter's start-up each time).
    assert gaps[0] >= 0.1
    assert gaps[1] >= 0.2
    assert gaps[2] >= 0.4
    assert gaps[3] < 0.4 + 2
    assert "exited with status 3" in stderr
    assert "restart 1:" in stderr


def test_sigterm_is_forwarded_once_and_nothing_is_restarted(tmp_path):
    supervisor = _start(tmp_path, "term")
    _wait_for(tmp_path / "ready")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=10) == 0
    assert (tmp_path / "stopped").read_text().split() == [str(int(signal.SIGTERM))]
    time.sleep(0.3)
    assert len(_starts(tmp_path)) == 1


def test_a_command_that_ignores_sigterm_is_killed_after_the_stop_timeout(tmp_path):
    supervisor = _start(tmp_path, "stubborn", "--stop-timeout", "0.5")
    _wait_for(tmp_path / "ready")
    pid = int((tmp_path / "ready").read_text())
    started = time.monotonic()
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=10) == 128 + signal.SIGKILL
    assert 0.5 <= time.monotonic() - started < 5
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_the_command_is_not_orphaned_when_the_supervisor_is_killed(tmp_path):
    supervisor = _start(tmp_path, "sleep")
    _wait_for(tmp_path / "ready")
    pid = int((tmp_path / "ready").read_text())
    supervisor.kill()
    supervisor.wait(timeout=10)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
        assert time.monotonic() < deadline, "the command outlived its supervisor"
        time.sleep(0.05)
