"""A live server, a real Celery worker and the real langfuse SDKs as clients.

Each SDK runs in its own process, as a service would: 5.x from the project
venv, 2.x from ``.venv-sdk2`` (made by ``scripts/prepare-sdk2``). The worker
runs in a thread of the test process against the configured broker (Redis
when REDIS_URL is set, else the filesystem broker), on a queue of its own so
that nothing else consumes these tasks.
"""

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from tests.conftest import ApiClient
from workbench.celery import app as celery_app
from workbench.models import ApiKey, Project

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
SDK5_PYTHON = Path(sys.executable)
SDK2_PYTHON = ROOT / ".venv-sdk2" / "bin" / "python"
SDK_TIMEOUT = 60
WORKER_WAIT = 20


def uses_in_memory_sqlite():
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.fixture(scope="package")
def celery_worker(django_db_setup, django_db_blocker):
    """A worker thread, or None where the test database is in-memory SQLite.

    An in-memory SQLite database is visible to one connection only, which the
    live server shares with the test; a worker thread would see an empty
    database, so there the tasks run eagerly inside the request instead.
    """
    with django_db_blocker.unblock():
        in_memory = uses_in_memory_sqlite()
    if in_memory:
        logger.warning("In-memory SQLite: e2e tasks run eagerly, not in a worker")
        yield None
        return
    queue = f"e2e-{uuid.uuid4().hex[:12]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            queues=[queue],
            loglevel="WARNING",
            shutdown_timeout=15,
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_default_queue = previous_queue


@pytest.fixture
def worker(celery_worker):
    """Tasks go to the worker for this test (eager where there is none)."""
    if celery_worker is None:
        yield None
        return
    celery_app.conf.task_always_eager = False
    try:
        yield celery_worker
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def sdk_project(transactional_db):
    # No protected labels: these tests are about the wire protocol; the review
    # rules for protected labels have their own tests.
    return Project.objects.create(slug="e2e", name="End to end", protected_labels=[])


@pytest.fixture
def sdk_keys(sdk_project):
    api_key, secret = ApiKey.generate(project=sdk_project, note="e2e")
    return api_key.public_key, secret


@pytest.fixture
def read_api(live_server, sdk_keys):
    """A client for the read API, speaking to the live server's database."""
    return ApiClient(*sdk_keys)


@pytest.fixture
def sdk_env(live_server, sdk_keys):
    public_key, secret = sdk_keys
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LANGFUSE_", "OTEL_"))
    }
    env.update(
        LANGFUSE_HOST=live_server.url,
        LANGFUSE_PUBLIC_KEY=public_key,
        LANGFUSE_SECRET_KEY=secret,
        # Sends at once instead of after the batch interval.
        LANGFUSE_FLUSH_INTERVAL="0.2",
        PYTHONPATH="",
    )
    return env


def _run(python, client, scenario, env, arguments):
    result = subprocess.run(
        [str(python), str(CLIENTS / client), scenario, json.dumps(arguments)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SDK_TIMEOUT,
        cwd=CLIENTS,
    )
    assert result.returncode == 0, (
        f"{client} {scenario} failed ({result.returncode}):\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def sdk5(sdk_env):
    """Run a scenario of clients/sdk5.py and return what it printed."""

    def run(scenario, **arguments):
        return _run(SDK5_PYTHON, "sdk5.py", scenario, sdk_env, arguments)

    return run


@pytest.fixture
def sdk5_process(sdk_env):
    """Start a scenario that talks with the test over stdin/stdout."""
    processes = []

    def start(scenario, **arguments):
        process = subprocess.Popen(
            [
                str(SDK5_PYTHON),
                str(CLIENTS / "sdk5.py"),
                scenario,
                json.dumps(arguments),
            ],
            env=sdk_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=CLIENTS,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def sdk2_python():
    ok = SDK2_PYTHON.exists() and (
        subprocess.run(
            [str(SDK2_PYTHON), "-c", "import langfuse"], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        pytest.skip(
            f"langfuse 2.x is not installed in {SDK2_PYTHON.parent.parent}; "
            "run scripts/prepare-sdk2 (needs PyPI) to enable the SDK 2.x tests"
        )
    return SDK2_PYTHON


@pytest.fixture
def sdk2(sdk_env):
    python = sdk2_python()

    def run(scenario, **arguments):
        return _run(python, "sdk2.py", scenario, sdk_env, arguments)

    return run


def wait_for(fetch, *, timeout=WORKER_WAIT, interval=0.2):
    """Poll ``fetch`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() > deadline:
            broker = settings.CELERY_BROKER_URL
            pytest.fail(f"Nothing arrived within {timeout} s (broker: {broker})")
        time.sleep(interval)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.e2e)
