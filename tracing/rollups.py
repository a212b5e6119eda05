"""Hourly and daily usage buckets, recomputed from observations.

A roll-up never adds to a bucket: it deletes the buckets of the hours it
covers and inserts fresh aggregates of every LLM call that started in them,
then rebuilds the touched days by merging their hour buckets. That makes a
run idempotent, and a late or updated observation corrects the hour (and
day) it falls in the next time that hour is rolled up.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Q

from workbench.models import Project

from .histograms import Histogram
from .models import (
    Granularity,
    Level,
    Observation,
    PriceSource,
    RollupWatermark,
    Trace,
    UsageBucket,
)
from .reports import INPUT_USAGE_KEYS, LLM_CALL_TYPES, OUTPUT_USAGE_KEYS

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Rows are stamped with updated_at before their transaction commits, so a
# slow transaction can commit rows older than the watermark; re-reading this
# much before it catches them (recomputing twice is harmless).
WATERMARK_OVERLAP = timedelta(minutes=5)
TRACE_CHUNK = 2000
DIMENSIONS = (
    "prompt_name",
    "prompt_version",
    "model",
    "user_id",
    "feature",
    "environment",
)
OBSERVATION_COLUMNS = (
    "trace_id",
    "start_time",
    "end_time",
    "completion_start_time",
    "model",
    "level",
    "environment",
    "usage_details",
    "total_cost",
    "price_source",
    "prompt_name",
    "prompt_version_number",
)


def hour_of(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment):
    return hour_of(moment).replace(hour=0)


def trace_feature(metadata, tags):
    """A trace's feature: its metadata "feature", else its first tag, else ""."""
    if isinstance(metadata, dict) and metadata.get("feature") not in (None, ""):
        return str(metadata["feature"])[:255]
    if isinstance(tags, list) and tags:
        return str(tags[0])[:255]
    return ""


@dataclass
class Aggregate:
    """The measures of one bucket while it is being summed."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    usage: dict = field(default_factory=dict)
    cost: Decimal = Decimal(0)
    unpriced_calls: int = 0
    latency: Histogram = field(default_factory=Histogram)
    ttft: Histogram = field(default_factory=Histogram)

    def add_call(self, row):
        usage = {key: int(value or 0) for key, value in row["usage_details"].items()}
        parts = {key: value for key, value in usage.items() if key != "total"}
        self.calls += 1
        self.errors += row["level"] == Level.ERROR
        self.input_tokens += sum(usage.get(key, 0) for key in INPUT_USAGE_KEYS)
        self.output_tokens += sum(usage.get(key, 0) for key in OUTPUT_USAGE_KEYS)
        self.total_tokens += usage.get("total", sum(parts.values()))
        for key, value in parts.items():
            self.usage[key] = self.usage.get(key, 0) + value
        if row["total_cost"] is not None:
            self.cost += row["total_cost"]
        elif row["price_source"] == PriceSource.UNKNOWN and usage:
            # The reports' definition of unpriced: usage that no price matched.
            self.unpriced_calls += 1
        if row["end_time"] is not None:
            self.latency.add((row["end_time"] - row["start_time"]).total_seconds())
        if row["completion_start_time"] is not None:
            elapsed = row["completion_start_time"] - row["start_time"]
            self.ttft.add(elapsed.total_seconds())

    def merge(self, bucket):
        """Add a stored bucket's measures (an hour into its day)."""
        self.calls += bucket.calls
        self.errors += bucket.errors
        self.input_tokens += bucket.input_tokens
        self.output_tokens += bucket.output_tokens
        self.total_tokens += bucket.total_tokens
        for key, value in bucket.usage.items():
            self.usage[key] = self.usage.get(key, 0) + value
        self.cost += bucket.cost
        self.unpriced_calls += bucket.unpriced_calls
        self.latency.merge(Histogram.from_dict(bucket.latency_histogram))
        self.ttft.merge(Histogram.from_dict(bucket.ttft_histogram))

    def as_bucket(self, *, project_id, granularity, bucket_start, dimensions):
        return UsageBucket(
            project_id=project_id,
            granularity=granularity,
            bucket_start=bucket_start,
            **dict(zip(DIMENSIONS, dimensions, strict=True)),
            calls=self.calls,
            errors=self.errors,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            total_tokens=self.total_tokens,
            usage=dict(sorted(self.usage.items())),
            cost=self.cost,
            unpriced_calls=self.unpriced_calls,
            latency_histogram=self.latency.to_dict(),
            ttft_histogram=self.ttft.to_dict(),
        )


def llm_calls(project_id):
    return Observation.objects.filter(project_id=project_id, type__in=LLM_CALL_TYPES)


def _trace_dimensions(project_id, trace_ids):
    """(user_id, feature) per trace id, for the traces that exist."""
    found = {}
    trace_ids = list(trace_ids)
    for offset in range(0, len(trace_ids), TRACE_CHUNK):
        rows = Trace.objects.filter(
            project_id=project_id, trace_id__in=trace_ids[offset : offset + TRACE_CHUNK]
        ).values_list("trace_id", "user_id", "metadata", "tags")
        for trace_id, user_id, metadata, tags in rows:
            found[trace_id] = ((user_id or "")[:255], trace_feature(metadata, tags))
    return found


def _hour_aggregates(project_id, start, end):
    """{(hour, dimensions): Aggregate} of the LLM calls started in [start, end)."""
    rows = list(
        llm_calls(project_id)
        .filter(start_time__gte=start, start_time__lt=end)
        .order_by()
        .values(*OBSERVATION_COLUMNS)
    )
    traces = _trace_dimensions(project_id, {row["trace_id"] for row in rows})
    aggregates = {}
    for row in rows:
        user_id, feature = traces.get(row["trace_id"], ("", ""))
        dimensions = (
            (row["prompt_name"] or "")[:255],
            row["prompt_version_number"],
            row["model"] or "",
            user_id,
            feature,
            row["environment"] or "",
        )
        key = (hour_of(row["start_time"]), dimensions)
        aggregates.setdefault(key, Aggregate()).add_call(row)
    return aggregates


def _rebuild_hours(project_id, start, end):
    """Replace the hour buckets of [start, end) (hour-aligned); returns rows."""
    UsageBucket.objects.filter(
        project_id=project_id,
        granularity=Granularity.HOUR,
        bucket_start__gte=start,
        bucket_start__lt=end,
    ).delete()
    buckets = [
        aggregate.as_bucket(
            project_id=project_id,
            granularity=Granularity.HOUR,
            bucket_start=hour,
            dimensions=dimensions,
        )
        for (hour, dimensions), aggregate in _hour_aggregates(
            project_id, start, end
        ).items()
    ]
    UsageBucket.objects.bulk_create(buckets, batch_size=1000)
    return len(buckets)


def _rebuild_day(project_id, day):
    """Replace a day's buckets with the merge of its hour buckets."""
    UsageBucket.objects.filter(
        project_id=project_id, granularity=Granularity.DAY, bucket_start=day
    ).delete()
    hours = UsageBucket.objects.filter(
        project_id=project_id,
        granularity=Granularity.HOUR,
        bucket_start__gte=day,
        bucket_start__lt=day + DAY,
    )
    aggregates = {}
    for bucket in hours.iterator():
        dimensions = tuple(getattr(bucket, name) for name in DIMENSIONS)
        aggregates.setdefault(dimensions, Aggregate()).merge(bucket)
    UsageBucket.objects.bulk_create(
        [
            aggregate.as_bucket(
                project_id=project_id,
                granularity=Granularity.DAY,
                bucket_start=day,
                dimensions=dimensions,
            )
            for dimensions, aggregate in aggregates.items()
        ],
        batch_size=1000,
    )


def _hour_ranges(hours):
    """Contiguous [start, end) ranges covering a set of hour starts."""
    ranges = []
    for hour in sorted(hours):
        if ranges and ranges[-1][1] == hour:
            ranges[-1][1] = hour + HOUR
        else:
            ranges.append([hour, hour + HOUR])
    return [tuple(pair) for pair in ranges]


def _lock_watermark(project_id):
    """Lock the project's watermark row: one roll-up per project at a time."""
    RollupWatermark.objects.get_or_create(project_id=project_id)
    return RollupWatermark.objects.select_for_update().get(project_id=project_id)


def rollup_hours(*, project_id, hours):
    """Recompute the given hour buckets and the days they lie in, atomically."""
    hours = {hour_of(hour) for hour in hours}
    if not hours:
        return 0
    with transaction.atomic():
        _lock_watermark(project_id)
        written = sum(
            _rebuild_hours(project_id, start, end) for start, end in _hour_ranges(hours)
        )
        for day in sorted({day_of(hour) for hour in hours}):
            _rebuild_day(project_id, day)
    logger.info(
        "Rolled up %s hours of project %s into %s hour buckets",
        len(hours),
        project_id,
        written,
    )
    return written


def _window(project_id, since, until):
    """The whole days covering [since, until), defaulting to the data's span."""
    if since is None or until is None:
        span = llm_calls(project_id).aggregate(
            first=Min("start_time"), last=Max("start_time")
        )
        if span["first"] is None and (since is None or until is None):
            return None
        since = since if since is not None else span["first"]
        until = until if until is not None else span["last"] + timedelta(seconds=1)
    start = day_of(since)
    end = day_of(until)
    if end < until.astimezone(UTC):
        end += DAY
    return start, max(end, start + DAY)


def rollup_observations(*, project_id=None, since=None, until=None, progress=None):
    """Rebuild the hour and day buckets of the whole days covering [since, until).

    Without ``project_id`` every project is rebuilt; without ``since`` or
    ``until`` the window reaches the project's first or last LLM call. Each
    day is one transaction, so a long rebuild shows progress and holds locks
    briefly; ``progress(project, day, days_done, days_total)`` is called after
    each day. Returns the number of hour buckets written.
    """
    projects = Project.objects.order_by("slug")
    if project_id is not None:
        projects = projects.filter(pk=project_id)
    written = 0
    for project in projects:
        window = _window(project.pk, since, until)
        if window is None:
            continue
        start, end = window
        days = int((end - start) / DAY)
        for done in range(days):
            day = start + done * DAY
            written += rollup_hours(
                project_id=project.pk, hours=[day + n * HOUR for n in range(24)]
            )
            if progress is not None:
                progress(project, day, done + 1, days)
    return written


def _touched_hours(project_id, after):
    """Hours of LLM calls (or of their traces) updated after ``after``.

    Returns (hours, newest updated_at seen). A trace update can change the
    user or feature of its calls, so its calls' hours count as touched too.
    """
    calls = llm_calls(project_id)
    changed = calls if after is None else calls.filter(updated_at__gt=after)
    stamps = changed.aggregate(newest=Max("updated_at"))
    hours = set()
    for start_time in changed.values_list("start_time", flat=True).iterator():
        hours.add(hour_of(start_time))
    newest = stamps["newest"]
    if after is not None:
        traces = Trace.objects.filter(project_id=project_id, updated_at__gt=after)
        trace_ids = list(traces.values_list("trace_id", flat=True))
        for offset in range(0, len(trace_ids), TRACE_CHUNK):
            chunk = trace_ids[offset : offset + TRACE_CHUNK]
            for start_time in calls.filter(trace_id__in=chunk).values_list(
                "start_time", flat=True
            ):
                hours.add(hour_of(start_time))
        newest_trace = traces.aggregate(newest=Max("updated_at"))["newest"]
        if newest_trace is not None and (newest is None or newest_trace > newest):
            newest = newest_trace
    return hours, newest


def rollup_project_recent(project_id):
    """Roll up the hours a project's changes since its watermark touched."""
    watermark = RollupWatermark.objects.filter(project_id=project_id).first()
    mark = watermark.updated_at if watermark else None
    after = mark - WATERMARK_OVERLAP if mark else None
    hours, newest = _touched_hours(project_id, after)
    written = rollup_hours(project_id=project_id, hours=hours)
    if newest is not None and (mark is None or newest > mark):
        # Only forward: a concurrent run may have moved it further already.
        RollupWatermark.objects.filter(project_id=project_id).filter(
            Q(updated_at__isnull=True) | Q(updated_at__lt=newest)
        ).update(updated_at=newest)
    return written


def rollup_recent():
    """Beat entry: roll up every project's new and changed LLM calls."""
    written = 0
    for project_id in Project.objects.order_by("pk").values_list("pk", flat=True):
        written += rollup_project_recent(project_id)
    return written
