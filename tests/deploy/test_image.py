"""docker/Dockerfile and the compose file's health checks, without a Docker engine.

The Dockerfile is read by the parser BuildKit itself uses (the `dockerfile` package wraps it):
a syntax error fails here. What runs inside the image is tested by tests/system/test_probes.py.
"""

from pathlib import Path

import dockerfile
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_UID = "10001"


def stages() -> dict[str, list]:
    """Instructions per stage, by stage name."""
    result: dict[str, list] = {}
    current = None
    for instruction in dockerfile.parse_file(str(ROOT / "docker" / "Dockerfile")):
        if instruction.cmd == "FROM":
            current = instruction.value[-1]
            result[current] = []
        if current is not None:
            result[current].append(instruction)
    return result


def test_a_builder_stage_with_the_compilers_and_a_runtime_stage_with_only_the_virtualenv():
    builder, runtime = stages()["builder"], stages()["runtime"]
    assert builder[0].value[0] == runtime[0].value[0], "both stages on the same base image (the venv's python)"
    assert any("build-essential" in i.value[0] for i in builder if i.cmd == "RUN")
    assert any("pip install -r" in i.value[0] for i in builder if i.cmd == "RUN")
    runtime_runs = " ".join(i.value[0] for i in runtime if i.cmd == "RUN")
    assert "build-essential" not in runtime_runs
    assert "pip install" not in runtime_runs
    (venv,) = [i for i in runtime if i.cmd == "COPY" and "--from=builder" in i.flags]
    assert venv.value == ("/opt/venv", "/opt/venv")


def test_the_runtime_runs_as_the_unprivileged_user_the_manifests_require():
    runtime = stages()["runtime"]
    (user,) = [i for i in runtime if i.cmd == "USER"]
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert user.value == (f"{APP_UID}:{APP_UID}",)
    manifest = yaml.safe_load((ROOT / "docker" / "kubernetes" / "base" / "web.yaml").read_text().split("\n---\n")[0])
    assert str(manifest["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) == APP_UID
    assert [i.value for i in runtime if i.cmd == "ENTRYPOINT"] == [("/app/docker/entrypoint.sh",)]


def test_the_healthcheck_probes_whatever_role_the_container_runs():
    runtime = stages()["runtime"]
    (healthcheck,) = [i for i in runtime if i.cmd == "HEALTHCHECK"]
    assert healthcheck.value == ("CMD", "python", "/app/bin/probe")
    env = {}
    for instruction in runtime:
        if instruction.cmd == "ENV":
            env.update(zip(instruction.value[::2], instruction.value[1::2], strict=True))
    # The dispatcher's heartbeat goes where a read-only root filesystem still lets it write.
    assert env["OUTBOX_DISPATCHER_HEARTBEAT_FILE"].startswith("/tmp/")


EXPECTED_PROBES = {
    "web": ["web"],
    "notifications-web": ["web"],
    "stream": ["web"],
    "notifications-stream": ["web"],
    "worker": ["worker"],
    "delivery-worker": ["worker"],
    "notifications-worker": ["worker"],
    "beat": ["beat"],
    "dispatcher": ["heartbeat", "--max-age", "60"],
    "pgbouncer": ["pgbouncer"],
}


def test_every_long_running_compose_service_has_the_probe_of_its_role():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    checked = {}
    for name, service in compose["services"].items():
        role = (service.get("command") or [None])[0]
        if role not in EXPECTED_PROBES:
            continue
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "/app/bin/probe"], name
        checked[role] = test[3:]
    assert checked == EXPECTED_PROBES


def test_every_compose_role_uses_the_rabbitmq_broker_once_it_is_healthy():
    """RabbitMQ is the production broker (docs/operations.md, "Broker"): every service that
    talks to Celery names it and waits for its health check."""
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    services = compose["services"]
    assert services["rabbitmq"]["healthcheck"]["test"][:2] == ["CMD", "rabbitmq-diagnostics"]
    brokered = {name: s for name, s in services.items() if "CELERY_BROKER_URL" in (s.get("environment") or {})}
    assert {"web", "worker", "delivery-worker", "beat", "dispatcher", "notifications-worker"} <= set(brokered)
    for name, service in brokered.items():
        assert service["environment"]["CELERY_BROKER_URL"].startswith("amqp://"), name
        if name not in ("migrate", "notifications-migrate"):
            assert service["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}, name
