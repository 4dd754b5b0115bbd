"""Every shell block of README.md and docs/ runs as pasted, in order, against a fresh `make run`.

A newcomer's walk: `make run` on a port that is not the default (``PORT``, which every block
follows) with its state in a directory of its own (``VAR_DIR``), then each block in a fresh
bash, one after the other, as a reader pastes them. What a reader would do by hand is done the
same way here: a ``read -p`` prompt for an emailed uid and token gets them from the email
printed on the console of `make run`, and a stream left running (``curl -N``) runs beside the
rest of its block for a while. Every HTTP answer must be a 2xx or a 4xx that its block
documents; the blocks' main answers are checked too. Blocks that need something other than the
demo (a cluster, Docker, PostgreSQL) are listed with the reason.

It runs in the embedded-default run of the suite (`make run` uses SQLite whatever
``DATABASE_URL`` says, so the PostgreSQL run skips it).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.docs.test_shell_examples import ROOT, SHELL_BLOCKS
from tests.system.harness import free_port, http

# First line of a block (its start) → why it does not run against the demo.
NOT_AGAINST_THE_DEMO = {
    "make run     #": "starts the demo itself (this test runs it)",
    "DATABASE_URL=postgres://": "runs the test suite against PostgreSQL",
    "kubectl ": "needs a Kubernetes cluster",
    "SECRET_KEY=$(python3": "builds and starts the Docker compose stack",
}
# Stand-ins for what a reader does by hand (see the module docstring); curl also reports each
# answer's status on stderr for the checks below.
PRELUDE = r"""
curl() {
  local arg
  for arg in "$@"; do
    if [ "$arg" = -N ]; then
      command curl --max-time 20 -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\n' "$@" &
      sleep 3
      return 0
    fi
  done
  command curl -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\n' "$@"
}
read() {
  local prompt="" names=() pair
  while [ $# -gt 0 ]; do
    case $1 in -p) prompt=$2; shift 2 ;; -*) shift ;; *) names+=("$1"); shift ;; esac
  done
  pair=$(python3 "$CONSOLE_EMAIL" "$CONSOLE_LOG" "$CONSOLE_OFFSET" "$prompt") || return 1
  printf -v "${names[0]}" '%s' "${pair%% *}"
  printf -v "${names[1]}" '%s' "${pair#* }"
}
"""
STATUS = re.compile(r"^HTTP (\d{3}) (\S+) (\S+)$", re.M)
# Variables of the suite's own environment that must not reach `make run` or the blocks.
SUITE_ONLY = ("DATABASE_URL", "REDIS_URL", "REQUIRE_POSTGRES", "CACHE_KEY_PREFIX", "CELERY_BROKER_URL", "EMAIL_URL")


def _runnable():
    blocks = []
    for where, body in SHELL_BLOCKS:
        first = body.lstrip().splitlines()[0]
        if not any(first.startswith(start) for start in NOT_AGAINST_THE_DEMO):
            blocks.append((where, body))
    return blocks


def _json_documents(output: str) -> list:
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        try:
            document, position = decoder.raw_decode(output, position)
        except ValueError:
            position = output.find("\n", position) + 1 or len(output)
            continue
        documents.append(document)
    return documents


def _tail(path: Path, lines: int = 80) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("make run is the embedded default: the walk runs in the suite's embedded-default run")
    for tool in ("make", "curl", "bash"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    workdir = tmp_path_factory.mktemp("walkthrough")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SUITE_ONLY and not k.startswith("PYTEST")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # make run's own (config.settings.local)
    env.update(PORT=str(port), VAR_DIR=str(workdir / "var"))
    console = workdir / "console.log"
    with open(console, "wb") as log:
        process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while not (
            http("GET", base + "/healthz")[0] == 200
            and " ready." in console.read_text(errors="replace")
            and "outbox dispatcher: started" in console.read_text(errors="replace")
        ):
            assert process.poll() is None, "make run stopped:\n" + _tail(console)
            assert time.monotonic() < deadline, "make run did not come up within 300 s:\n" + _tail(console)
            time.sleep(1)
        yield {"base": base, "env": env, "console": console}
    finally:
        # Ctrl-C, as a reader stops it: honcho stops the four processes.
        for sig, wait in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


def _run(demo, body: str) -> subprocess.CompletedProcess:
    env = {
        **demo["env"],
        "CONSOLE_EMAIL": str(ROOT / "tests" / "docs" / "console_email.py"),
        "CONSOLE_LOG": str(demo["console"]),
        "CONSOLE_OFFSET": str(demo["console"].stat().st_size),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", PRELUDE + body + "\nwait\n"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _documented(code: str, body: str) -> bool:
    comments = " ".join(re.findall(r"#([^\n]*)", body))
    return re.search(rf"\b{code}\b", comments) is not None


def test_every_shell_block_runs_as_pasted_in_order_against_a_fresh_make_run(demo):
    answers = {}
    for where, body in _runnable():
        result = _run(demo, body)
        report = f"{where}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n--- console\n"
        assert result.returncode == 0, report + _tail(demo["console"])
        statuses = STATUS.findall(result.stderr)
        assert statuses, report
        wrong = [s for s in statuses if not (s[0].startswith("2") or (s[0][0] == "4" and _documented(s[0], body)))]
        assert wrong == [], report + _tail(demo["console"])
        answers[where] = (result.stdout, [int(code) for code, _method, _url in statuses])

    def answer_of(marker: str):
        (where,) = [where for where, body in _runnable() if marker in body]
        return answers[where]

    # Using the API: Alice rates Volt, the summary counts it, Volt's inbox has it a moment later.
    api = answer_of("# providers, best rated first")
    providers, rating, summary, volt_inbox = _json_documents(api[0])
    assert [p["name"] for p in providers["results"]] == [
        "Sparkle Cleaners",
        "Pipe Dreams Plumbing",
        "Volt Electrical",
        "Ada's Maths Tutoring",
    ]
    assert (rating["score"], rating["comment"], rating["customer"]["name"], rating["status"]) == (
        5,
        "Great",
        "Alice",
        "published",
    )
    assert (summary["count"], summary["average"], summary["distribution"]["5"]) == (2, 4.0, 1)
    assert [item["title"] for item in volt_inbox["results"]][:1] == ["New 5-star rating from Alice"]

    # The live inbox: the stream left running shows Carol's new rating of Sparkle Cleaners.
    live = answer_of("notifications/stream/")
    assert "event: notification" in live[0]
    assert "New 5-star rating from Carol" in live[0]

    # Accounts: a new account, confirmed and reset from the emails on the console, then deleted.
    accounts = answer_of("dana@example.com")
    # … 200 renamed, 202 the data export queued, 200 notices in German, 204 deleted.
    assert accounts[1] == [201, 200, 200, 409, 200, 202, 204, 200, 202, 200, 204]
    documents = _json_documents(accounts[0])
    assert {"email": "dana@example.com", "email_verified": True} in [
        {"email": d.get("email"), "email_verified": d.get("email_verified")} for d in documents
    ]


def test_every_block_left_out_of_the_walk_says_why():
    left_out = [body.lstrip().splitlines()[0] for _where, body in SHELL_BLOCKS]
    left_out = [first for first in left_out if any(first.startswith(s) for s in NOT_AGAINST_THE_DEMO)]
    # Each reason matches at least one block (no stale entry), and the walk runs the rest.
    assert {s for s in NOT_AGAINST_THE_DEMO if any(f.startswith(s) for f in left_out)} == set(NOT_AGAINST_THE_DEMO)
    assert len(_runnable()) + len(left_out) == len(SHELL_BLOCKS)
    assert len(_runnable()) >= 5
