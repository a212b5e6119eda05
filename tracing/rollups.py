"""Hourly and daily usage buckets, recomputed from observations.

A roll-up never adds to a bucket: it deletes the buckets of the hours it
covers and inserts fresh aggregates of every LLM call that started in them,
then rebuilds the touched days by merging their hour buckets. That makes a
run idempotent, and a late or updated observation corrects the hour (and
day) it falls in the next time that hour is rolled up.

On PostgreSQL the sums, the usage maps and the histogram bucket indexes are
computed by the database in one statement per range of hours, and days are
merged from hours by an INSERT ... SELECT. Elsewhere (the embedded SQLite
default) the same aggregates are computed in Python, row by row; both paths
give identical buckets (tests/tracing/test_rollups.py compares them).
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.db.models.functions import TruncHour

from workbench.models import Project

from .histograms import LOG_GAMMA, Histogram
from .models import (
    Granularity,
    Level,
    Observation,
    PriceSource,
    RollupWatermark,
    StaleUsageHour,
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
MEASURES = (
    "calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
    "unpriced_calls",
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
DIMENSION_LENGTH = 255
BUCKET_COLUMNS = (
    "project_id",
    "granularity",
    "bucket_start",
    *DIMENSIONS,
    *MEASURES,
    "usage",
    "latency_histogram",
    "ttft_histogram",
)
JSON_COLUMNS = frozenset({"usage", "latency_histogram", "ttft_histogram"})


def hour_of(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment):
    return hour_of(moment).replace(hour=0)


def trace_feature(metadata, tags, feature_key="feature"):
    """The feature a trace belongs to, by the project's ``feature_key``.

    ``metadata[feature_key]`` when it is a non-empty string or a number;
    else the value of the first tag ``<feature_key>:<value>``; else "". An
    empty key means the project does not group by feature.
    """
    if not feature_key:
        return ""
    value = metadata.get(feature_key) if isinstance(metadata, dict) else None
    if isinstance(value, str) and value:
        return value[:DIMENSION_LENGTH]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)[:DIMENSION_LENGTH]
    prefix = f"{feature_key}:"
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, str) and tag.startswith(prefix) and len(tag) > len(prefix):
            return tag[len(prefix) :][:DIMENSION_LENGTH]
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

    def add_usage(self, key, tokens):
        """Add one usage key's tokens summed over calls (the SQL path)."""
        if key != "total":
            self.usage[key] = self.usage.get(key, 0) + tokens
        if key in INPUT_USAGE_KEYS:
            self.input_tokens += tokens
        if key in OUTPUT_USAGE_KEYS:
            self.output_tokens += tokens

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

    def as_row(self, *, project_id, granularity, bucket_start, dimensions):
        """The bucket's column values, in ``BUCKET_COLUMNS`` order."""
        return (
            project_id,
            granularity,
            bucket_start,
            *dimensions,
            self.calls,
            self.errors,
            self.input_tokens,
            self.output_tokens,
            self.total_tokens,
            self.cost,
            self.unpriced_calls,
            dict(sorted(self.usage.items())),
            self.latency.to_dict(),
            self.ttft.to_dict(),
        )


def llm_calls(project_id):
    return Observation.objects.filter(project_id=project_id, type__in=LLM_CALL_TYPES)


def _feature_key(project_id):
    return (
        Project.objects.filter(pk=project_id)
        .values_list("feature_key", flat=True)
        .first()
        or ""
    )


# The Python path (SQLite, and the reference the SQL path is tested against)


def _trace_dimensions(project_id, trace_ids, feature_key):
    """(user_id, feature) per trace id, for the traces that exist."""
    found = {}
    trace_ids = list(trace_ids)
    for offset in range(0, len(trace_ids), TRACE_CHUNK):
        rows = Trace.objects.filter(
            project_id=project_id, trace_id__in=trace_ids[offset : offset + TRACE_CHUNK]
        ).values_list("trace_id", "user_id", "metadata", "tags")
        for trace_id, user_id, metadata, tags in rows:
            found[trace_id] = (
                (user_id or "")[:DIMENSION_LENGTH],
                trace_feature(metadata, tags, feature_key),
            )
    return found


def hour_aggregates_python(project_id, start, end, feature_key):
    """{(hour, dimensions): Aggregate} of the LLM calls started in [start, end),
    summed row by row in Python."""
    rows = list(
        llm_calls(project_id)
        .filter(start_time__gte=start, start_time__lt=end)
        .order_by()
        .values(*OBSERVATION_COLUMNS)
    )
    traces = _trace_dimensions(
        project_id, {row["trace_id"] for row in rows}, feature_key
    )
    aggregates = {}
    for row in rows:
        user_id, feature = traces.get(row["trace_id"], ("", ""))
        dimensions = (
            (row["prompt_name"] or "")[:DIMENSION_LENGTH],
            row["prompt_version_number"],
            row["model"] or "",
            user_id,
            feature,
            row["environment"] or "",
        )
        key = (hour_of(row["start_time"]), dimensions)
        aggregates.setdefault(key, Aggregate()).add_call(row)
    return aggregates


# The PostgreSQL path

# A trace's feature, as trace_feature() computes it. Numbers are rendered
# as PostgreSQL writes them, which differs from Python's str() only for
# numbers written with an exponent or trailing zeros.
FEATURE_SQL = """
CASE
    WHEN %(feature_key)s::text = '' THEN ''
    WHEN jsonb_typeof(t.metadata -> %(feature_key)s::text) = 'number'
        OR (jsonb_typeof(t.metadata -> %(feature_key)s::text) = 'string'
            AND t.metadata ->> %(feature_key)s::text <> '')
        THEN left(t.metadata ->> %(feature_key)s::text, 255)
    ELSE coalesce((
        SELECT left(substr(tag.value #>> '{}', length(%(feature_key)s::text) + 2), 255)
        FROM jsonb_array_elements(
            CASE jsonb_typeof(t.tags) WHEN 'array' THEN t.tags ELSE '[]' END
        ) WITH ORDINALITY AS tag (value, position)
        WHERE jsonb_typeof(tag.value) = 'string'
            AND starts_with(tag.value #>> '{}', %(feature_key)s::text || ':')
            AND length(tag.value #>> '{}') > length(%(feature_key)s::text) + 1
        ORDER BY tag.position
        LIMIT 1
    ), '')
END"""

# int(value or 0) of a usage value, as Aggregate.add_call reads it.
TOKENS_SQL = """
CASE jsonb_typeof(usage.value)
    WHEN 'number' THEN trunc(usage.value::numeric)::bigint
    WHEN 'string' THEN coalesce(nullif(usage.value #>> '{}', '')::bigint, 0)
    WHEN 'boolean' THEN usage.value::boolean::int
    ELSE 0
END"""

GROUP_SQL = "hour, prompt_name, prompt_version, model, user_id, feature, environment"

# One scan of the calls, three aggregations: measures per group, tokens per
# (group, usage key), and histogram counts per (group, histogram, index).
# The last two come back as arrays, one row per group, which is what keeps
# the rows handed to Python near the number of buckets rather than of calls.
# A NULL index is the histogram's zero bucket (zero or negative durations).
HOUR_AGGREGATES_SQL = f"""
WITH started AS MATERIALIZED (
    SELECT
        trace_id,
        -- Epoch seconds: an integer is cheaper to hand back than a timestamp.
        extract(epoch FROM date_trunc('hour', start_time, 'UTC'))::bigint AS hour,
        coalesce(left(prompt_name, 255), '') AS prompt_name,
        prompt_version_number AS prompt_version,
        coalesce(model, '') AS model,
        coalesce(environment, '') AS environment,
        level = %(error_level)s AS failed,
        usage_details,
        total_cost,
        total_cost IS NULL
            AND price_source = %(unknown_price)s
            AND usage_details <> '{{}}'::jsonb AS unpriced,
        extract(epoch FROM end_time - start_time)::float8 AS latency,
        extract(epoch FROM completion_start_time - start_time)::float8 AS ttft
    FROM tracing_observation
    WHERE project_id = %(project_id)s
        AND type = ANY(%(types)s)
        AND start_time >= %(start)s
        AND start_time < %(end)s
),
-- Only the traces of these calls, each looked up once by its unique index.
traced AS MATERIALIZED (
    SELECT
        t.trace_id,
        coalesce(left(t.user_id, 255), '') AS user_id,
        {FEATURE_SQL} AS feature
    FROM tracing_trace t
    WHERE t.project_id = %(project_id)s
        AND t.trace_id IN (SELECT DISTINCT trace_id FROM started)
),
calls AS MATERIALIZED (
    SELECT started.*,
        coalesce(traced.user_id, '') AS user_id,
        coalesce(traced.feature, '') AS feature
    FROM started LEFT JOIN traced ON traced.trace_id = started.trace_id
)
SELECT 'calls', {GROUP_SQL}, NULL::text[], NULL::bigint[],
    ARRAY[
        count(*),
        count(*) FILTER (WHERE failed),
        count(*) FILTER (WHERE unpriced)
    ],
    NULL::bigint[],
    sum(total_cost)
FROM calls
GROUP BY {GROUP_SQL}
UNION ALL
SELECT 'usage', {GROUP_SQL}, array_agg(key), NULL, array_agg(tokens),
    array_agg(tokens_without_total), NULL
FROM (
    SELECT {GROUP_SQL}, usage.key,
        sum({TOKENS_SQL})::bigint AS tokens,
        (sum({TOKENS_SQL}) FILTER (WHERE NOT calls.usage_details ? 'total'))::bigint
            AS tokens_without_total
    FROM calls CROSS JOIN LATERAL jsonb_each(calls.usage_details) AS usage
    GROUP BY {GROUP_SQL}, usage.key
) AS per_key
GROUP BY {GROUP_SQL}
UNION ALL
SELECT kind, {GROUP_SQL}, NULL, array_agg(bucket_index), array_agg(calls), NULL,
    NULL
FROM (
    SELECT duration.kind, {GROUP_SQL},
        CASE WHEN duration.seconds > 0
            THEN ceil(ln(duration.seconds) / %(log_gamma)s::float8)::bigint
        END AS bucket_index,
        count(*) AS calls
    FROM calls CROSS JOIN LATERAL (
        VALUES ('latency', calls.latency), ('ttft', calls.ttft)
    ) AS duration (kind, seconds)
    WHERE duration.seconds IS NOT NULL
    GROUP BY duration.kind, {GROUP_SQL}, bucket_index
) AS per_index
GROUP BY kind, {GROUP_SQL}
"""


def hour_aggregates_sql(project_id, start, end, feature_key):
    """{(hour, dimensions): Aggregate} of the LLM calls started in [start, end),
    summed by PostgreSQL; the same result as ``hour_aggregates_python``."""
    params = {
        "project_id": project_id,
        "types": list(LLM_CALL_TYPES),
        "start": start,
        "end": end,
        "feature_key": feature_key,
        "error_level": Level.ERROR,
        "unknown_price": PriceSource.UNKNOWN,
        "log_gamma": LOG_GAMMA,
    }
    with connection.cursor() as cursor:
        cursor.execute(HOUR_AGGREGATES_SQL, params)
        rows = cursor.fetchall()
    aggregates = {}
    hours = {}
    for part, epoch, *dimensions, labels, indexes, counts, parts, cost in rows:
        hour = hours.get(epoch)
        if hour is None:
            hour = hours[epoch] = datetime.fromtimestamp(epoch, UTC)
        group = (hour, tuple(dimensions))
        aggregate = aggregates.get(group)
        if aggregate is None:
            aggregate = aggregates[group] = Aggregate()
        if part == "calls":
            aggregate.calls, aggregate.errors, aggregate.unpriced_calls = counts
            aggregate.cost = cost if cost is not None else Decimal(0)
        elif part == "usage":
            for key, tokens, without_total in zip(labels, counts, parts, strict=True):
                aggregate.add_usage(key, tokens)
                # Calls with a "total" count it; the others count their parts.
                aggregate.total_tokens += (
                    tokens if key == "total" else (without_total or 0)
                )
        else:
            histogram = aggregate.latency if part == "latency" else aggregate.ttft
            for index, count in zip(indexes, counts, strict=True):
                if index is None:
                    histogram.zero_count += count
                else:
                    histogram.counts[index] = count
    return aggregates


def hour_aggregates(project_id, start, end, feature_key):
    if connection.vendor == "postgresql":
        return hour_aggregates_sql(project_id, start, end, feature_key)
    return hour_aggregates_python(project_id, start, end, feature_key)


# Writing buckets


def _copy_buckets(rows):
    """INSERT bucket rows with one COPY: bulk_create spends its time quoting."""
    table = connection.ops.quote_name(UsageBucket._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in BUCKET_COLUMNS)
    json_at = [
        index for index, name in enumerate(BUCKET_COLUMNS) if name in JSON_COLUMNS
    ]
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            row = list(row)
            for index in json_at:
                row[index] = json.dumps(row[index])
            copy.write_row(row)


def insert_buckets(rows):
    """Store bucket rows (tuples in ``BUCKET_COLUMNS`` order)."""
    if connection.vendor == "postgresql":
        _copy_buckets(rows)
    else:
        UsageBucket.objects.bulk_create(
            (
                UsageBucket(**dict(zip(BUCKET_COLUMNS, row, strict=True)))
                for row in rows
            ),
            batch_size=1000,
        )


def _rebuild_hours(project_id, start, end, feature_key):
    """Replace the hour buckets of [start, end) (hour-aligned); returns rows."""
    UsageBucket.objects.filter(
        project_id=project_id,
        granularity=Granularity.HOUR,
        bucket_start__gte=start,
        bucket_start__lt=end,
    ).delete()
    rows = [
        aggregate.as_row(
            project_id=project_id,
            granularity=Granularity.HOUR,
            bucket_start=hour,
            dimensions=dimensions,
        )
        for (hour, dimensions), aggregate in hour_aggregates(
            project_id, start, end, feature_key
        ).items()
    ]
    insert_buckets(rows)
    return len(rows)


def _json_sum(column):
    """The per-key sum of a JSON map column over a group's rows (PostgreSQL)."""
    return f"""(
        SELECT coalesce(jsonb_object_agg(summed.key, summed.total), '{{}}')
        FROM (
            SELECT entry.key, sum(entry.value::numeric)::bigint AS total
            FROM jsonb_array_elements(jsonb_agg(hourly.{column})) AS stored (map),
                jsonb_each(stored.map) AS entry
            GROUP BY entry.key
        ) AS summed
    )"""


DIMENSION_COLUMNS_SQL = ", ".join(DIMENSIONS)
DAY_MERGE_SQL = f"""
INSERT INTO tracing_usagebucket (
    project_id, granularity, bucket_start, {DIMENSION_COLUMNS_SQL},
    {", ".join(MEASURES)}, usage, latency_histogram, ttft_histogram
)
SELECT
    hourly.project_id, %(day_granularity)s, %(day)s, {DIMENSION_COLUMNS_SQL},
    {", ".join(f"sum(hourly.{name})" for name in MEASURES)},
    {_json_sum("usage")},
    {_json_sum("latency_histogram")},
    {_json_sum("ttft_histogram")}
FROM tracing_usagebucket AS hourly
WHERE hourly.project_id = %(project_id)s
    AND hourly.granularity = %(hour_granularity)s
    AND hourly.bucket_start >= %(day)s
    AND hourly.bucket_start < %(next_day)s
GROUP BY hourly.project_id, {DIMENSION_COLUMNS_SQL}
"""


def _merge_day_sql(project_id, day):
    with connection.cursor() as cursor:
        cursor.execute(
            DAY_MERGE_SQL,
            {
                "project_id": project_id,
                "day": day,
                "next_day": day + DAY,
                "day_granularity": Granularity.DAY,
                "hour_granularity": Granularity.HOUR,
            },
        )


def _merge_day_python(project_id, day):
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
    insert_buckets(
        aggregate.as_row(
            project_id=project_id,
            granularity=Granularity.DAY,
            bucket_start=day,
            dimensions=dimensions,
        )
        for dimensions, aggregate in aggregates.items()
    )


def _rebuild_day(project_id, day):
    """Replace a day's buckets with the merge of its hour buckets."""
    UsageBucket.objects.filter(
        project_id=project_id, granularity=Granularity.DAY, bucket_start=day
    ).delete()
    if connection.vendor == "postgresql":
        _merge_day_sql(project_id, day)
    else:
        _merge_day_python(project_id, day)


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


def _tune_transaction():
    """PostgreSQL: compiling these statements (JIT) costs more than running
    them, and a day's grouping spills to disk with the default work_mem."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")


def rollup_hours(*, project_id, hours):
    """Recompute the given hour buckets and the days they lie in, atomically."""
    hours = {hour_of(hour) for hour in hours}
    if not hours:
        return 0
    with transaction.atomic():
        _lock_watermark(project_id)
        _tune_transaction()
        feature_key = _feature_key(project_id)
        written = sum(
            _rebuild_hours(project_id, start, end, feature_key)
            for start, end in _hour_ranges(hours)
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


# The incremental roll-up


def stale_hours_record(*, project_id, hours):
    """Remember hours whose buckets still count calls that moved out of them.

    Ingestion calls this, in its own transaction, when an update moves a
    call's start to another hour: the roll-up only sees the new start, so
    without this the old hour would go on counting the call.
    """
    StaleUsageHour.objects.bulk_create(
        StaleUsageHour(project_id=project_id, hour=hour_of(hour)) for hour in set(hours)
    )


def _distinct_hours(calls):
    return set(
        calls.order_by()
        .annotate(hour=TruncHour("start_time", tzinfo=UTC))
        .values_list("hour", flat=True)
        .distinct()
    )


def _touched_hours(project_id, after):
    """Hours of LLM calls (or of their traces) updated after ``after``.

    Returns (hours, newest updated_at seen). A trace update can change the
    user or feature of its calls, so its calls' hours count as touched too.
    """
    calls = llm_calls(project_id)
    changed = calls if after is None else calls.filter(updated_at__gt=after)
    newest = changed.aggregate(newest=Max("updated_at"))["newest"]
    hours = _distinct_hours(changed)
    if after is not None:
        traces = Trace.objects.filter(project_id=project_id, updated_at__gt=after)
        changed_trace = traces.filter(trace_id=OuterRef("trace_id"))
        hours |= _distinct_hours(calls.filter(Exists(changed_trace)))
        newest_trace = traces.aggregate(newest=Max("updated_at"))["newest"]
        if newest_trace is not None and (newest is None or newest_trace > newest):
            newest = newest_trace
    return {hour_of(hour) for hour in hours}, newest


def rollup_project_recent(project_id):
    """Roll up the hours a project's changes since its watermark touched."""
    watermark = RollupWatermark.objects.filter(project_id=project_id).first()
    mark = watermark.updated_at if watermark else None
    after = mark - WATERMARK_OVERLAP if mark else None
    stale = dict(
        StaleUsageHour.objects.filter(project_id=project_id).values_list("pk", "hour")
    )
    hours, newest = _touched_hours(project_id, after)
    written = rollup_hours(project_id=project_id, hours=hours | set(stale.values()))
    # Only the rows read: a move recorded since is rolled up next time.
    StaleUsageHour.objects.filter(pk__in=list(stale)).delete()
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
