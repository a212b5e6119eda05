"""The e2e worker takes tasks from the broker, in its own thread."""

import threading

from tests.e2e.conftest import wait_for
from workbench.celery import app as celery_app
from workbench.models import Project


@celery_app.task(name="tests.e2e.create_project")
def create_project(slug):
    Project.objects.create(slug=slug, name=threading.current_thread().name)


def test_tasks_are_consumed_from_the_broker_by_another_thread(worker, transactional_db):
    result = create_project.delay("from-worker")

    project = wait_for(lambda: Project.objects.filter(slug="from-worker").first())
    if worker is None:
        # In-memory SQLite: no worker can see the database, tasks run eagerly.
        assert result.successful()
        assert project.name == threading.current_thread().name
    else:
        assert project.name != threading.current_thread().name
