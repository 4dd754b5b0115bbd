"""The served OpenAPI document is the contract: schemathesis fuzzes a live server against it.

One gunicorn on loopback, on a database of its own, is fuzzed from ``/api/schema/`` as an
anonymous client, as a customer, as a provider and as a partner (API key), with every check
schemathesis has but ``positive_data_acceptance``: that one expects every schema-valid request
to succeed, and business rules the schema cannot express (a too-common password, an unknown
provider id, a second rating for the same provider) are 4xx by design. Among the checks kept:
no 5xx, every status documented, the documented content type and body schema, 405 for
undocumented methods, rejection of schema-violating input, no data left behind a DELETE.

The seed is fixed so that a failure reproduces; ``SCHEMATHESIS_SEED`` picks another and
``SCHEMATHESIS_MAX_EXAMPLES`` sets the cases per operation. Schemathesis runs with one worker:
with several, Hypothesis occasionally trips over its own thread-unsafe caches ("AST
constructor recursion depth mismatch"), an error of the tool, not of the API.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system import harness

pytestmark = pytest.mark.system

SEED = os.environ.get("SCHEMATHESIS_SEED", "20261130")
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")
RUN_TIMEOUT = 900  # seconds per identity; a run takes a few minutes here

PARTNER_KEY_SCRIPT = """
from apps.partners.keys import partner_key_create
from apps.partners.models import Partner
partner = Partner.objects.create(name="contract fuzzing")
_, key = partner_key_create(partner=partner, name="contract fuzzing")
print("KEY" + key)
"""


def _schemathesis(base: str, report_dir: Path, name: str, *args: str) -> tuple[int, str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base}/api/schema/",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-shrink",
        "--report",
        "junit",
        "--report-junit-path",
        str(report_dir / f"{name}.xml"),
        *args,
    ]
    # Run from the report directory: schemathesis keeps a .schemathesis/ cache in its working
    # directory, which must not land in the work tree.
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=report_dir)
    return result.returncode, result.stdout + result.stderr


def _generated(output: str) -> int:
    match = re.search(r"(\d+) generated", output)
    assert match, f"schemathesis printed no case count:\n{output[-3000:]}"
    return int(match.group(1))


def test_the_served_schema_holds_under_fuzzing(make_db, stack, tmp_path):
    env = stack.env(
        DATABASE_URL=make_db(),
        CELERY_BROKER_URL="memory://",
        REDIS_URL="redis://127.0.0.1:6379/14",
        CACHE_KEY_PREFIX=f"contract-{os.getpid()}",
        BREAKER_KEY_PREFIX=f"contract-{os.getpid()}-br",
        THROTTLE_WEBHOOK_TEST="100000/min",
    )
    base = stack.web("web", env)
    seeded = harness.seed(env, customers=1, providers=1)
    partner_key = harness.manage(env, "shell", "-c", PARTNER_KEY_SCRIPT).split("KEY", 1)[1].strip()

    identities = {
        "anonymous": (),
        "customer": ("-H", f"Authorization: Bearer {seeded['customers'][0]['token']}"),
        "provider": ("-H", f"Authorization: Bearer {seeded['providers'][0]['token']}"),
        # The partner key opens the invitation endpoint and the partner API (Homerun's paths);
        # elsewhere it is a documented 401.
        "partner": (
            "-H",
            f"Authorization: Api-Key {partner_key}",
            "--include-path-regex",
            r"invitations|^/v1/|^/healthcheck$|^/api/notifications/",
        ),
    }
    report_dir = tmp_path / "schemathesis"
    report_dir.mkdir()
    totals, failed = {}, {}
    for name, args in identities.items():
        code, output = _schemathesis(base, report_dir, name, *args)
        totals[name] = _generated(output)
        if code != 0:
            failed[name] = output[-12000:]
    print("schemathesis cases:", totals, "total", sum(totals.values()))
    assert not failed, "\n\n".join(f"=== {name}\n{out}" for name, out in failed.items())
    # Every identity really exercised the API (a run that generated nothing would pass too).
    assert all(count > 0 for count in totals.values()), totals
    assert sum(totals.values()) >= 4000, totals
