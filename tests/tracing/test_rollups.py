"""Usage roll-ups: exact buckets, idempotence, late and updated calls, tenancy."""

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tracing import rollups, services
from tracing.histograms import Histogram
from tracing.models import (
    BatchSource,
    Granularity,
    IngestionBatch,
    Level,
    Observation,
    ObservationType,
    PriceSource,
    RollupWatermark,
    StaleUsageHour,
    Trace,
    UsageBucket,
)
from tracing.tasks import rollup_recent as rollup_recent_task

DAY = datetime(2026, 12, 1, tzinfo=UTC)
TEN = DAY + timedelta(hours=10)
ELEVEN = DAY + timedelta(hours=11)
SEARCH_V1 = ("greet", 1, "gpt-4o", "u1", "search", "default")
CHAT_V2 = ("greet", 2, "claude-3-5-haiku", "u2", "chat", "default")
DIMENSIONS = rollups.DIMENSIONS
MEASURES = (
    "calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "usage",
    "cost",
    "unpriced_calls",
)

_counter = iter(range(1, 1_000_000))


def call(
    project,
    *,
    start,
    trace="t1",
    model="gpt-4o",
    prompt=("greet", 1),
    usage=None,
    cost=None,
    level=Level.DEFAULT,
    latency=1.0,
    ttft=None,
    kind=ObservationType.GENERATION,
):
    usage = usage or {}
    return Observation.objects.create(
        project=project,
        observation_id=f"o{next(_counter)}",
        trace_id=trace,
        type=kind,
        start_time=start,
        end_time=start + timedelta(seconds=latency),
        completion_start_time=None if ttft is None else start + timedelta(seconds=ttft),
        model=model,
        level=level,
        usage_details=usage,
        total_cost=cost,
        price_source=PriceSource.UNKNOWN if cost is None else PriceSource.PUBLIC,
        prompt_name=prompt[0],
        prompt_version_number=prompt[1],
    )


def usage(input_tokens, output_tokens):
    return {
        "input": input_tokens,
        "output": output_tokens,
        "total": input_tokens + output_tokens,
    }


@pytest.fixture
def traces(project):
    Trace.objects.create(
        project=project,
        trace_id="t1",
        timestamp=TEN,
        user_id="u1",
        metadata={"feature": "search"},
        tags=["ignored"],
    )
    Trace.objects.create(
        project=project,
        trace_id="t2",
        timestamp=TEN,
        user_id="u2",
        tags=["x", "feature:chat", "feature:other"],
    )


@pytest.fixture
def calls(project, traces):
    """Two hours, two models, two prompt versions, an error, an unpriced call."""
    return [
        call(
            project,
            start=TEN + timedelta(minutes=1),
            usage=usage(100, 50),
            cost=Decimal("0.003"),
            latency=1.0,
            ttft=0.2,
        ),
        call(
            project,
            start=TEN + timedelta(minutes=30),
            usage=usage(200, 20),
            cost=Decimal("0.004"),
            level=Level.ERROR,
            latency=2.0,
        ),
        call(
            project,
            start=TEN + timedelta(minutes=59),
            trace="t2",
            model="claude-3-5-haiku",
            prompt=("greet", 2),
            usage=usage(10, 5),
        ),
        call(
            project,
            start=ELEVEN,
            usage=usage(1, 1),
            cost=Decimal("0.0001"),
        ),
        # Spans are not LLM calls: never counted.
        call(project, start=TEN, kind=ObservationType.SPAN, usage=usage(9, 9)),
    ]


def buckets(project, granularity):
    """{(bucket_start, dimensions): {measure: value}} for a project."""
    rows = UsageBucket.objects.filter(project=project, granularity=granularity)
    return {
        (row.bucket_start, tuple(getattr(row, name) for name in DIMENSIONS)): {
            name: getattr(row, name) for name in MEASURES
        }
        for row in rows
    }


def snapshot(project):
    return sorted(
        UsageBucket.objects.filter(project=project).values(
            "granularity",
            "bucket_start",
            *DIMENSIONS,
            *MEASURES,
            "latency_histogram",
            "ttft_histogram",
        ),
        key=repr,
    )


def measures(calls, errors, tokens, cost, unpriced=0):
    input_tokens, output_tokens = tokens
    return {
        "calls": calls,
        "errors": errors,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "usage": {"input": input_tokens, "output": output_tokens},
        "cost": Decimal(cost),
        "unpriced_calls": unpriced,
    }


def test_it_writes_exact_hour_and_day_buckets(project, calls):
    rollups.rollup_observations(project_id=project.pk, since=DAY, until=DAY)

    assert buckets(project, Granularity.HOUR) == {
        (TEN, SEARCH_V1): measures(2, 1, (300, 70), "0.007"),
        (TEN, CHAT_V2): measures(1, 0, (10, 5), "0", unpriced=1),
        (ELEVEN, SEARCH_V1): measures(1, 0, (1, 1), "0.0001"),
    }
    assert buckets(project, Granularity.DAY) == {
        (DAY, SEARCH_V1): measures(3, 1, (301, 71), "0.0071"),
        (DAY, CHAT_V2): measures(1, 0, (10, 5), "0", unpriced=1),
    }


def test_the_hour_bucket_keeps_latency_and_time_to_first_token(project, calls):
    rollups.rollup_observations(project_id=project.pk)

    bucket = UsageBucket.objects.get(
        project=project, granularity=Granularity.HOUR, bucket_start=TEN, model="gpt-4o"
    )
    latency = Histogram.from_dict(bucket.latency_histogram)
    assert latency.count == 2
    assert latency.quantile(0) == pytest.approx(1.0, rel=0.01)
    assert latency.quantile(1) == pytest.approx(2.0, rel=0.01)
    ttft = Histogram.from_dict(bucket.ttft_histogram)
    assert ttft.count == 1
    assert ttft.quantile(0.5) == pytest.approx(0.2, rel=0.01)


def test_calls_without_prompt_model_or_trace_get_empty_dimensions(project):
    call(project, start=TEN, trace="nowhere", model=None, prompt=(None, None))
    rollups.rollup_recent()
    rollups.rollup_recent()

    assert list(buckets(project, Granularity.HOUR)) == [
        (TEN, ("", None, "", "", "", "default"))
    ]
    assert UsageBucket.objects.filter(project=project).count() == 2


def test_running_twice_changes_nothing(project, calls):
    rollups.rollup_recent()
    first = snapshot(project)
    rollups.rollup_recent()
    assert snapshot(project) == first
    rollups.rollup_observations(project_id=project.pk, since=DAY, until=DAY)
    rollups.rollup_observations(project_id=project.pk, since=DAY, until=DAY)
    assert snapshot(project) == first
    assert len(first) == 5


def test_a_late_call_corrects_its_old_hour_and_day(project, calls):
    rollups.rollup_recent()
    untouched = buckets(project, Granularity.HOUR)[(ELEVEN, SEARCH_V1)]

    call(
        project,
        start=TEN + timedelta(minutes=5),
        usage=usage(1000, 100),
        cost=Decimal("0.05"),
    )
    rollups.rollup_recent()

    hours = buckets(project, Granularity.HOUR)
    assert hours[(TEN, SEARCH_V1)] == measures(3, 1, (1300, 170), "0.057")
    assert hours[(ELEVEN, SEARCH_V1)] == untouched
    days = buckets(project, Granularity.DAY)
    assert days[(DAY, SEARCH_V1)] == measures(4, 1, (1301, 171), "0.0571")


def test_an_updated_cost_corrects_its_bucket(project, calls):
    rollups.rollup_recent()

    calls[3].total_cost = Decimal("0.0201")
    calls[3].save()
    rollups.rollup_recent()

    hours = buckets(project, Granularity.HOUR)
    assert hours[(ELEVEN, SEARCH_V1)]["cost"] == Decimal("0.0201")
    assert hours[(TEN, SEARCH_V1)]["cost"] == Decimal("0.007")
    days = buckets(project, Granularity.DAY)
    assert days[(DAY, SEARCH_V1)]["cost"] == Decimal("0.0271")


def test_a_changed_trace_moves_its_calls_to_the_new_user(project, calls):
    rollups.rollup_recent()

    trace = Trace.objects.get(project=project, trace_id="t2")
    trace.user_id = "u3"
    trace.save()
    rollups.rollup_recent()

    moved = ("greet", 2, "claude-3-5-haiku", "u3", "chat", "default")
    hours = buckets(project, Granularity.HOUR)
    assert (TEN, CHAT_V2) not in hours
    assert hours[(TEN, moved)]["calls"] == 1
    assert (DAY, moved) in buckets(project, Granularity.DAY)


def test_the_watermark_follows_the_newest_change(project, calls):
    rollups.rollup_recent()

    generations = Observation.objects.filter(
        project=project, type=ObservationType.GENERATION
    )
    newest = max(row.updated_at for row in generations)
    watermark = RollupWatermark.objects.get(project=project)
    assert watermark.updated_at == newest


def test_another_projects_calls_never_mix_in(project, other_project, calls):
    Trace.objects.create(
        project=other_project, trace_id="t1", timestamp=TEN, user_id="u1"
    )
    call(
        other_project,
        start=TEN + timedelta(minutes=2),
        usage=usage(5000, 5000),
        cost=Decimal("9"),
    )
    rollups.rollup_recent()

    assert buckets(project, Granularity.HOUR)[(TEN, SEARCH_V1)] == measures(
        2, 1, (300, 70), "0.007"
    )
    assert buckets(other_project, Granularity.HOUR) == {
        (TEN, ("greet", 1, "gpt-4o", "u1", "", "default")): measures(
            1, 0, (5000, 5000), "9"
        )
    }


def test_a_rebuild_of_one_project_leaves_the_other_alone(project, other_project, calls):
    call(other_project, start=TEN, usage=usage(1, 1), cost=Decimal("1"))
    rollups.rollup_observations(project_id=project.pk)
    assert not UsageBucket.objects.filter(project=other_project).exists()


def test_percentiles_from_the_buckets_are_within_one_percent_of_exact(project):
    generator = random.Random(11)
    latencies = [generator.lognormvariate(0, 1) for _ in range(2000)]
    Observation.objects.bulk_create(
        Observation(
            project=project,
            observation_id=f"p{index}",
            trace_id="t",
            type=ObservationType.GENERATION,
            model="gpt-4o",
            start_time=TEN + timedelta(minutes=index % 120),
            end_time=TEN + timedelta(minutes=index % 120, seconds=latency),
        )
        for index, latency in enumerate(latencies)
    )
    rollups.rollup_recent()

    hours = UsageBucket.objects.filter(project=project, granularity=Granularity.HOUR)
    assert hours.count() == 2
    day = UsageBucket.objects.get(project=project, granularity=Granularity.DAY)
    histogram = Histogram.from_dict(day.latency_histogram)
    merged = Histogram()
    for hour in hours:
        merged.merge(Histogram.from_dict(hour.latency_histogram))
    assert merged == histogram
    # Latencies went through timedelta: compare with what was stored.
    stored = sorted(
        (row.end_time - row.start_time).total_seconds()
        for row in Observation.objects.filter(project=project)
    )
    for q in (0.5, 0.95, 0.99):
        # The nearest-rank order statistic: 0-based rank ceil(q * n) - 1.
        exact = stored[math.ceil(q * len(stored)) - 1]
        assert abs(histogram.quantile(q) - exact) / exact <= 0.01


def test_the_command_rebuilds_a_range_and_prints_progress(project, calls, capsys):
    call_command(
        "rebuild_rollups",
        "--since",
        "2026-11-30",
        "--until",
        "2026-12-02",
        "--project",
        "acme",
    )

    output = capsys.readouterr().out
    assert "acme 2026-11-30 (1/2)" in output
    assert "acme 2026-12-01 (2/2)" in output
    assert "Wrote 3 hour buckets." in output
    assert len(buckets(project, Granularity.DAY)) == 2


def test_the_command_refuses_an_unknown_project_and_a_bad_date(project, calls):
    with pytest.raises(CommandError, match="no project with slug 'nope'"):
        call_command("rebuild_rollups", "--since", "2026-12-01", "--project", "nope")
    with pytest.raises(CommandError, match="not a date"):
        call_command("rebuild_rollups", "--since", "yesterday")
    assert not UsageBucket.objects.exists()


def test_the_beat_task_rolls_up(project, calls):
    rollup_recent_task.delay()
    assert len(buckets(project, Granularity.DAY)) == 2


# The SQL path against the Python reference


def varied_calls(project, generator):
    """Calls with every shape the roll-up must read, spread over three hours."""
    Trace.objects.create(
        project=project, trace_id="meta", timestamp=TEN, metadata={"feature": "a"}
    )
    Trace.objects.create(
        project=project, trace_id="number", timestamp=TEN, metadata={"feature": 7}
    )
    Trace.objects.create(
        project=project,
        trace_id="tagged",
        timestamp=TEN,
        user_id="u" * 255,
        metadata={"feature": "", "other": "x"},
        tags=["feature:", "feat:x", "feature:from-tag", "feature:later"],
    )
    Trace.objects.create(
        project=project, trace_id="long", timestamp=TEN, tags=["feature:" + "f" * 300]
    )
    Trace.objects.create(
        project=project,
        trace_id="odd",
        timestamp=TEN,
        metadata={"feature": True},
        tags="feature:not-a-list",
    )
    usages = [
        {},
        usage(100, 50),
        {"input": 10, "output": 5},
        {"input": 3, "input_cached_tokens": 2, "output_reasoning_tokens": 4},
        {"input": 1, "output": 1, "total": 7, "input_audio_tokens": 2},
        {"input": 2.9, "output": None, "total": "4"},
    ]
    rows = []
    for index in range(400):
        start = TEN + timedelta(seconds=generator.randrange(3 * 3600))
        ended = generator.random() < 0.85
        latency = generator.choice(
            [0, -0.5, 0.001, 1, generator.lognormvariate(0, 1.5)]
        )
        reported = generator.random() < 0.2
        cost = Decimal(generator.randrange(1, 10_000)) / Decimal(10**9)
        priced = generator.random() < 0.6
        rows.append(
            Observation(
                project=project,
                observation_id=f"v{index}",
                trace_id=generator.choice(
                    ["meta", "number", "tagged", "odd", "long", "gone"]
                ),
                type=generator.choice(
                    [ObservationType.GENERATION] * 4
                    + [ObservationType.EMBEDDING, ObservationType.SPAN]
                ),
                start_time=start,
                end_time=start + timedelta(seconds=latency) if ended else None,
                completion_start_time=(
                    start + timedelta(seconds=generator.uniform(-0.1, 2))
                    if generator.random() < 0.5
                    else None
                ),
                model=generator.choice(["gpt-4o", "claude-3-5-haiku", None]),
                level=generator.choice([Level.DEFAULT, Level.ERROR, Level.WARNING]),
                environment=generator.choice(["default", "production"]),
                usage_details=generator.choice(usages),
                total_cost=cost if reported or priced else None,
                price_source=(
                    PriceSource.REPORTED
                    if reported
                    else PriceSource.PUBLIC
                    if priced
                    else generator.choice([PriceSource.UNKNOWN, ""])
                ),
                prompt_name=generator.choice(["greet", "summarise", None]),
                prompt_version_number=generator.choice([1, 2, None]),
            )
        )
    Observation.objects.bulk_create(rows)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQL path needs PostgreSQL"
)
def test_the_sql_path_gives_the_python_reference_buckets(project):
    varied_calls(project, random.Random(5))
    start, end = TEN - timedelta(hours=1), TEN + timedelta(hours=4)

    sql = rollups.hour_aggregates_sql(project.pk, start, end, "feature")
    python = rollups.hour_aggregates_python(project.pk, start, end, "feature")

    assert sql == python
    features = {dimensions[4] for _, dimensions in python}
    assert features == {"a", "7", "from-tag", "f" * 255, ""}
    assert sum(aggregate.calls for aggregate in python.values()) > 300
    assert any(aggregate.latency.zero_count for aggregate in python.values())
    assert any(aggregate.unpriced_calls for aggregate in python.values())


def test_day_buckets_are_the_merge_of_their_hour_buckets(project):
    varied_calls(project, random.Random(6))
    rollups.rollup_observations(project_id=project.pk)

    merged = {}
    for bucket in UsageBucket.objects.filter(
        project=project, granularity=Granularity.HOUR
    ):
        dimensions = tuple(getattr(bucket, name) for name in DIMENSIONS)
        merged.setdefault(dimensions, rollups.Aggregate()).merge(bucket)
    stored = {}
    for bucket in UsageBucket.objects.filter(
        project=project, granularity=Granularity.DAY
    ):
        assert bucket.bucket_start == DAY
        dimensions = tuple(getattr(bucket, name) for name in DIMENSIONS)
        stored[dimensions] = rollups.Aggregate()
        stored[dimensions].merge(bucket)
    assert stored == merged
    assert len(stored) > 10


# The feature key


@pytest.mark.parametrize(
    ("metadata", "tags", "key", "feature"),
    [
        ({"feature": "search"}, ["feature:chat"], "feature", "search"),
        ({"feature": 12}, [], "feature", "12"),
        ({"feature": 1.5}, [], "feature", "1.5"),
        ({"feature": ""}, ["x", "feature:chat", "feature:other"], "feature", "chat"),
        ({"feature": True}, ["feature:chat"], "feature", "chat"),
        ({"feature": {"a": 1}}, [], "feature", ""),
        (None, ["feature:", "chat"], "feature", ""),
        ({"team": "ops", "feature": "x"}, [], "team", "ops"),
        ({}, ["feature:x", "team:ops:east"], "team", "ops:east"),
        ({"feature": "x"}, ["feature:y"], "", ""),
        (["feature"], "feature:x", "feature", ""),
    ],
)
def test_the_feature_of_a_trace(metadata, tags, key, feature):
    assert rollups.trace_feature(metadata, tags, key) == feature


def test_the_roll_up_follows_the_projects_feature_key(project):
    project.feature_key = "team"
    project.save()
    Trace.objects.create(
        project=project,
        trace_id="t1",
        timestamp=TEN,
        metadata={"feature": "search", "team": "growth"},
    )
    Trace.objects.create(
        project=project, trace_id="t2", timestamp=TEN, tags=["feature:x", "team:ops"]
    )
    call(project, start=TEN, trace="t1")
    call(project, start=TEN, trace="t2")

    rollups.rollup_recent()

    features = UsageBucket.objects.filter(
        project=project, granularity=Granularity.HOUR
    ).values_list("feature", flat=True)
    assert sorted(features) == ["growth", "ops"]


# A call whose start moves to another hour


def generation_event(event_id, envelope_second, start):
    return {
        "id": event_id,
        "type": "generation-create",
        "timestamp": f"2026-12-01T12:00:{envelope_second:02d}Z",
        "body": {
            "id": "g",
            "traceId": "t",
            "model": "gpt-4o",
            "startTime": start,
            "usage": {"input": 10, "output": 2},
        },
    }


def process(project, events):
    batch = IngestionBatch.objects.create(
        project=project, source=BatchSource.INGESTION, events=events
    )
    services.batch_process(batch_id=batch.pk)


def test_a_call_moved_to_another_hour_leaves_its_old_hour(project):
    process(project, [generation_event("e1", 1, "2026-12-01T10:30:00Z")])
    rollups.rollup_recent()
    assert [hour for hour, _ in buckets(project, Granularity.HOUR)] == [TEN]

    # A newer event moves the start to the next hour.
    process(project, [generation_event("e2", 2, "2026-12-01T11:10:00Z")])
    assert list(StaleUsageHour.objects.values_list("hour", flat=True)) == [TEN]
    rollups.rollup_recent()

    hours = buckets(project, Granularity.HOUR)
    assert [(hour, row["calls"]) for (hour, _), row in hours.items()] == [(ELEVEN, 1)]
    days = buckets(project, Granularity.DAY)
    assert [row["calls"] for row in days.values()] == [1]
    assert not StaleUsageHour.objects.exists()


def test_a_move_within_the_hour_marks_nothing_stale(project):
    process(project, [generation_event("e1", 1, "2026-12-01T10:30:00Z")])
    process(project, [generation_event("e2", 2, "2026-12-01T10:40:00Z")])

    assert not StaleUsageHour.objects.exists()
