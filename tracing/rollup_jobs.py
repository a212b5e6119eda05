"""Rebuilding a project's usage roll-ups as a background job.

The roll-up page and the feature-key setting start one; a Celery worker runs
it (``tracing.tasks.run_background_job``), one day per transaction, and the
page's progress bar counts the days.
"""

import logging
from datetime import UTC, date, datetime, timedelta

from .jobs import job_start, runner
from .models import JobKind
from .rollups import rollup_observations

logger = logging.getLogger(__name__)

# A year and a day: a whole leap year fits.
MAX_REBUILD_DAYS = 366


class RebuildInputError(ValueError):
    """A rebuild range that cannot be run; ``field`` names the bad input."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _parse_day(field, text):
    text = (text or "").strip()
    if not text:
        raise RebuildInputError(field, "is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RebuildInputError(
            field, f"is not a date (YYYY-MM-DD): {text[:40]!r}"
        ) from None


def rebuild_range_clean(since_text, until_text):
    """(first day, last day) of a rebuild, both included, from form text."""
    since = _parse_day("since", since_text)
    until = _parse_day("until", until_text)
    if until < since:
        raise RebuildInputError("until", f"must not be before the first day {since}")
    days = (until - since).days + 1
    if days > MAX_REBUILD_DAYS:
        raise RebuildInputError(
            "until", f"gives {days} days; a rebuild covers at most {MAX_REBUILD_DAYS}"
        )
    return since, until


def rollup_rebuild_start(*, project, since=None, until=None, user=None):
    """Queue a rebuild of the days from ``since`` to ``until`` (dates, both
    included); without them, of every day the project has LLM calls on."""
    params = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    return job_start(
        project=project, kind=JobKind.REBUILD_ROLLUPS, params=params, user=user
    )


def _midnight(day):
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


@runner(JobKind.REBUILD_ROLLUPS)
def rebuild_rollups_job(job, progress):
    """Rebuild the job's days; progress counts days done of days to do."""
    since = job.params.get("since")
    until = job.params.get("until")
    days = []

    def day_done(project, day, done, total):
        days.append(day)
        progress(done, total)

    written = rollup_observations(
        project_id=job.project_id,
        since=_midnight(date.fromisoformat(since)) if since else None,
        until=(
            _midnight(date.fromisoformat(until)) + timedelta(days=1) if until else None
        ),
        progress=day_done,
    )
    if not days:
        return "No LLM calls to roll up."
    return (
        f"Rebuilt {len(days)} days ({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}): "
        f"{written} hour buckets."
    )
