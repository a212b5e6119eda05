"""Background jobs: queued on commit, run by a worker, progress and failure kept."""

import pytest

from tracing import jobs
from tracing.models import BackgroundJob, JobKind, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_runner(monkeypatch):
    """Register a runner for the rebuild kind that reports three steps."""
    seen = []

    def work(job, progress):
        for done in range(1, 4):
            progress(done, 3)
            seen.append(BackgroundJob.objects.get(pk=job.pk).done)
        return f"did {job.params['what']}"

    monkeypatch.setitem(jobs.RUNNERS, JobKind.REBUILD_ROLLUPS, work)
    return seen


def test_a_started_job_runs_once_committed_and_records_progress(
    project, members, fake_runner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_start(
            project=project,
            kind=JobKind.REBUILD_ROLLUPS,
            params={"what": "three days"},
            user=members["admin"],
        )

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    assert job.message == "did three days"
    assert job.started_at <= job.finished_at
    # Each step was visible in the database while the job ran.
    assert fake_runner == [1, 2, 3]


def test_a_failing_job_is_marked_failed_with_the_reason(project, monkeypatch):
    def work(job, progress):
        progress(1, 4)
        raise ValueError("price table unreadable")

    monkeypatch.setitem(jobs.RUNNERS, JobKind.REPRICE, work)
    job = BackgroundJob.objects.create(project=project, kind=JobKind.REPRICE)

    jobs.job_run(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Failed: price table unreadable"
    assert (job.done, job.total, job.percent) == (1, 4, 25)


def test_a_job_runs_only_once(project, fake_runner):
    job = BackgroundJob.objects.create(
        project=project, kind=JobKind.REBUILD_ROLLUPS, params={"what": "x"}
    )

    assert jobs.job_run(job.pk).status == JobStatus.DONE
    assert jobs.job_run(job.pk) is None
    assert fake_runner == [1, 2, 3]


def test_the_progress_fragment_polls_until_the_job_ends(
    client, project, members, fake_runner
):
    from workbench.models import Role

    job = BackgroundJob.objects.create(
        project=project, kind=JobKind.REBUILD_ROLLUPS, params={"what": "x"}
    )
    client.force_login(members[Role.VIEWER])
    url = f"/p/{project.slug}/jobs/{job.pk}/"

    queued = client.get(url)
    assert queued.status_code == 200
    assert b'hx-trigger="every 1s"' in queued.content
    assert b"Queued" in queued.content

    jobs.job_run(job.pk)
    done = client.get(url)
    assert b"hx-trigger" not in done.content
    assert b"3 of 3" in done.content
    assert b'value="100"' in done.content
