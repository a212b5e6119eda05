"""Rebuilding a project's usage roll-ups as a background job; how current
they are.

The roll-up page and the feature-key setting start one; a Celery worker runs
it (``tracing.tasks.run_background_job``), one day per transaction, and the
page's progress bar counts the days.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Max, Min

from .jobs import job_start, runner
from .models import (
    Granularity,
    JobKind,
    RollupWatermark,
    StaleUsageHour,
    Trace,
    UsageBucket,
)
from .rollups import llm_calls, rollup_observations

logger = logging.getLogger(__name__)

# A year and a day: a whole leap year fits.
MAX_REBUILD_DAYS = 366
# Days a rebuild may name: calls are not older, and near the calendar's end
# (9999-12-31) the job's day arithmetic would overflow.
EARLIEST_REBUILD_DAY = date(2000, 1, 1)
LATEST_REBUILD_DAY = date(2100, 12, 31)


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
        day = date.fromisoformat(text)
    except ValueError:
        raise RebuildInputError(
            field, f"is not a date (YYYY-MM-DD): {text[:40]!r}"
        ) from None
    if not EARLIEST_REBUILD_DAY <= day <= LATEST_REBUILD_DAY:
        raise RebuildInputError(
            field,
            f"must be between {EARLIEST_REBUILD_DAY} and {LATEST_REBUILD_DAY}",
        )
    return day


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
        f"Rebuilt {_count(len(days), 'day')} "
        f"({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}): "
        f"{_count(written, 'hour bucket')}."
    )


def _count(number, noun):
    """'1 day', '2 days'."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# What the roll-up page shows


@dataclass
class RollupState:
    """How current a project's roll-ups are and how much they hold."""

    watermark: datetime | None
    newest_change: datetime | None
    hour_buckets: int
    day_buckets: int
    first_day: datetime | None
    last_day: datetime | None
    stale_hours: int

    @property
    def behind(self):
        """How much newer the newest change is than the watermark, or None."""
        if self.newest_change is None or self.watermark is None:
            return None
        return max(self.newest_change - self.watermark, timedelta(0))

    @property
    def current(self):
        return self.stale_hours == 0 and (
            self.newest_change is None
            or (self.watermark is not None and self.watermark >= self.newest_change)
        )


def rollup_state(project):
    """The watermark, the newest change it is measured against, bucket counts."""
    watermark = (
        RollupWatermark.objects.filter(project=project)
        .values_list("updated_at", flat=True)
        .first()
    )
    newest = [
        llm_calls(project.pk).aggregate(newest=Max("updated_at"))["newest"],
        Trace.objects.filter(project=project).aggregate(newest=Max("updated_at"))[
            "newest"
        ],
    ]
    newest = [moment for moment in newest if moment is not None]
    buckets = UsageBucket.objects.filter(project=project)
    days = buckets.filter(granularity=Granularity.DAY).aggregate(
        first=Min("bucket_start"), last=Max("bucket_start")
    )
    return RollupState(
        watermark=watermark,
        newest_change=max(newest) if newest else None,
        hour_buckets=buckets.filter(granularity=Granularity.HOUR).count(),
        day_buckets=buckets.filter(granularity=Granularity.DAY).count(),
        first_day=days["first"],
        last_day=days["last"],
        stale_hours=StaleUsageHour.objects.filter(project=project).count(),
    )
