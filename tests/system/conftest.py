import os
import shutil
import uuid

import pytest

from tests.system import harness


def pytest_collection_modifyitems(config, items):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="system tests need real PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "system" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    """System tests talk to their own processes; the unit-test cache fixture does not apply."""
    yield


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """One migrated database per run; every test clones it (much faster than migrating)."""
    name = f"mr_sys_tpl_{uuid.uuid4().hex[:8]}"
    harness.pg_execute(f"CREATE DATABASE {name}")
    try:
        workdir = tmp_path_factory.mktemp("template")
        env = harness.Stack(workdir).env(DATABASE_URL=harness.db_url(name), CELERY_BROKER_URL="memory://")
        harness.manage(env, "migrate", "--noinput")
        yield name
    finally:
        harness.pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def make_db(template_db):
    created = []

    def make() -> str:
        name = f"mr_sys_{uuid.uuid4().hex[:10]}"
        harness.pg_execute(f"CREATE DATABASE {name} TEMPLATE {template_db}")
        created.append(name)
        return harness.db_url(name)

    yield make
    for name in created:
        harness.pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def stack(tmp_path, request):
    stack = harness.Stack(tmp_path)
    yield stack
    stack.stop_all()
    if getattr(request.node, "rep_call_failed", False):
        print(stack.logs())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.rep_call_failed = True
    return report


@pytest.fixture
def redis_broker(tmp_path):
    redis = harness.PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def rabbit_broker():
    if not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmqctl is not installed")
    vhost = harness.PrivateVhost()
    vhost.create()
    yield vhost
    vhost.delete()


@pytest.fixture
def smtp():
    sink = harness.SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def private_postgres(template_db):
    """A PostgreSQL cluster of our own (stoppable), holding a copy of the migrated template."""
    if not harness.PrivatePostgres.BIN.joinpath("initdb").exists():
        pytest.skip(f"no initdb in {harness.PrivatePostgres.BIN} (set PG_BIN)")
    cluster = harness.PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        cluster.db = cluster.copy_database(harness.db_url(template_db), "mr_sys")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def cache_redis(tmp_path):
    """A private redis-server for the cache, breakers and limits (apart from the broker)."""
    redis = harness.PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()
