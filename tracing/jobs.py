"""Long jobs a person starts from a page: queued to Celery, with progress.

A job kind registers a runner with ``@runner(JobKind.X)``. The runner gets
the ``BackgroundJob`` and a ``progress(done, total)`` callable; it returns a
short message for the job's page. Progress is written in its own statement
(outside any transaction the runner holds), so the page sees it move.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .models import BackgroundJob, JobStatus

logger = logging.getLogger(__name__)

RUNNERS = {}


def runner(kind):
    """Register the function that does the work of jobs of ``kind``."""

    def register(function):
        RUNNERS[kind] = function
        return function

    return register


def job_start(*, project, kind, params, user=None):
    """Create a queued job and hand it to a worker once this transaction commits."""
    from .tasks import run_background_job

    job = BackgroundJob.objects.create(
        project=project, kind=kind, params=params, created_by=user
    )
    transaction.on_commit(lambda: run_background_job.delay(str(job.pk)))
    logger.info(
        "Queued %s job %s for project %s (%s)", kind, job.pk, project.slug, params
    )
    return job


def _progress_writer(job):
    def progress(done, total):
        job.done, job.total = done, total
        BackgroundJob.objects.filter(pk=job.pk).update(done=done, total=total)

    return progress


def job_run(job_id):
    """Run a queued job to its end; a failure is recorded on the job, not lost."""
    job = BackgroundJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).first()
    if job is None:
        # Already run (a redelivered message) or deleted with its project.
        return None
    work = RUNNERS.get(job.kind)
    job.status, job.started_at = JobStatus.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    try:
        if work is None:
            raise LookupError(f"no runner for jobs of kind {job.kind!r}")
        message = work(job, _progress_writer(job)) or ""
    except Exception as error:
        logger.exception("Background job %s (%s) failed", job.pk, job.kind)
        job.status, job.message = JobStatus.FAILED, f"Failed: {error}"
    else:
        job.status, job.message = JobStatus.DONE, message
        logger.info("Background job %s (%s) done: %s", job.pk, job.kind, message)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at", "done", "total"])
    return job
