"""Data for the insight report tests: day buckets and scored LLM calls."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tracing import rollups
from tracing.histograms import Histogram
from tracing.models import (
    Granularity,
    Level,
    Observation,
    ObservationType,
    PriceSource,
    Score,
    ScoreDataType,
    Trace,
    UsageBucket,
)

DAY1 = datetime(2026, 11, 2, tzinfo=UTC)
PERIOD = {"from": "2026-11-01", "to": "2026-11-11"}


def day_bucket(project, day, *, prompt, version, model="gpt-4o", **measures):
    """One day bucket; ``latencies`` (seconds) fill its histogram."""
    latencies = measures.pop("latencies", [])
    measures.setdefault(
        "total_tokens",
        measures.get("input_tokens", 0) + measures.get("output_tokens", 0),
    )
    return UsageBucket.objects.create(
        project=project,
        granularity=Granularity.DAY,
        bucket_start=DAY1 + timedelta(days=day),
        prompt_name=prompt,
        prompt_version=version,
        model=model,
        latency_histogram=Histogram.of(latencies).to_dict(),
        **measures,
    )


def add_inflated_buckets(project):
    """Three prompts; quiz v2 (x1.5) and summary v3 (x3.5) inflate.

    No bucket falls on ``DAY1``, which the ``graded`` fixture rolls up anew.
    """
    # quiz: v1 1000 tokens per call, v2 1500 (x1.5), v3 1533.33 (x1.0222).
    day_bucket(
        project,
        1,
        prompt="quiz",
        version=1,
        calls=6,
        input_tokens=4800,
        output_tokens=1200,
        cost=Decimal("0.006"),
    )
    day_bucket(
        project,
        2,
        prompt="quiz",
        version=1,
        calls=4,
        input_tokens=3200,
        output_tokens=800,
        cost=Decimal("0.004"),
    )
    day_bucket(
        project,
        4,
        prompt="quiz",
        version=2,
        calls=4,
        input_tokens=5000,
        output_tokens=1000,
        cost=Decimal("0.006"),
    )
    day_bucket(
        project,
        6,
        prompt="quiz",
        version=3,
        calls=3,
        input_tokens=3600,
        output_tokens=1000,
        cost=Decimal("0.003"),
    )
    # chat: v1 100, v2 140 (x1.4): only at a factor of 1.4 or less.
    day_bucket(
        project,
        1,
        prompt="chat",
        version=1,
        calls=2,
        input_tokens=150,
        output_tokens=50,
    )
    day_bucket(
        project,
        3,
        prompt="chat",
        version=2,
        calls=5,
        input_tokens=600,
        output_tokens=100,
    )
    # summary: v2 had no calls, so v3 (700) is compared with v1 (200).
    day_bucket(
        project,
        1,
        prompt="summary",
        version=1,
        calls=1,
        input_tokens=150,
        output_tokens=50,
        cost=Decimal("0.0002"),
    )
    day_bucket(
        project,
        5,
        prompt="summary",
        version=3,
        calls=2,
        input_tokens=1000,
        output_tokens=400,
        unpriced_calls=2,
    )
    # Outside the period: a huge v4 of quiz that must not count.
    day_bucket(
        project,
        21,
        prompt="quiz",
        version=4,
        calls=1,
        input_tokens=90000,
    )


_ids = iter(range(1, 1_000_000))


def llm_call(
    project, trace, *, model, start, cost, latency, prompt="grader", level=Level.DEFAULT
):
    return Observation.objects.create(
        project=project,
        observation_id=f"obs-{next(_ids)}",
        trace_id=trace.trace_id,
        type=ObservationType.GENERATION,
        start_time=start,
        end_time=start + timedelta(seconds=latency),
        model=model,
        level=level,
        usage_details={"input": 100, "output": 20},
        total_cost=cost,
        price_source=PriceSource.PUBLIC,
        prompt_name=prompt,
        prompt_version_number=1,
    )


def score(
    project,
    name,
    value,
    *,
    observation=None,
    trace=None,
    data_type=ScoreDataType.NUMERIC,
):
    return Score.objects.create(
        project=project,
        score_id=f"score-{next(_ids)}",
        trace_id=(trace or observation).trace_id,
        observation_id=observation.observation_id if observation else None,
        name=name,
        value=value,
        data_type=data_type,
        timestamp=DAY1,
    )


def add_graded_calls(project):
    """gpt-4o, gpt-4o-mini and claude serve "grader"; the mini does as well.

    gpt-4o: 4 calls at $0.004, 1 error, latencies 1-4 s; accuracy 0.9 and
    0.8 (mean 0.85), helpful true and false (0.5).
    gpt-4o-mini: 4 calls at $0.001 in two traces; a trace score of accuracy
    0.82 judges both calls of its trace once; helpful true (1.0).
    claude-3-haiku: 2 calls at $0.002, no scores.
    """
    start = DAY1 + timedelta(hours=10)
    traces = {
        name: Trace.objects.create(
            project=project,
            trace_id=name,
            timestamp=start,
            metadata={"feature": "grading"},
        )
        for name in ("t-big", "t-mini-1", "t-mini-2", "t-claude")
    }
    big = [
        llm_call(
            project,
            traces["t-big"],
            model="gpt-4o",
            start=start,
            cost=Decimal("0.004"),
            latency=seconds,
            level=Level.ERROR if seconds == 4 else Level.DEFAULT,
        )
        for seconds in (1, 2, 3, 4)
    ]
    mini = [
        llm_call(
            project,
            traces[trace],
            model="gpt-4o-mini",
            start=start,
            cost=Decimal("0.001"),
            latency=0.5,
        )
        for trace in ("t-mini-1", "t-mini-1", "t-mini-2", "t-mini-2")
    ]
    for _ in range(2):
        llm_call(
            project,
            traces["t-claude"],
            model="claude-3-haiku",
            start=start,
            cost=Decimal("0.002"),
            latency=2,
        )
    score(project, "accuracy", 0.9, observation=big[0])
    score(project, "accuracy", 0.8, observation=big[1])
    score(project, "helpful", 1, observation=big[0], data_type=ScoreDataType.BOOLEAN)
    score(project, "helpful", 0, observation=big[2], data_type=ScoreDataType.BOOLEAN)
    score(project, "accuracy", 0.82, trace=traces["t-mini-1"])
    score(project, "helpful", 1, observation=mini[2], data_type=ScoreDataType.BOOLEAN)
    # Neither counts: a categorical score, and a score on a call outside the period.
    score(
        project,
        "accuracy",
        None,
        observation=big[3],
        data_type=ScoreDataType.CATEGORICAL,
    )
    late_trace = Trace.objects.create(
        project=project, trace_id="t-late", timestamp=DAY1 + timedelta(days=30)
    )
    late = llm_call(
        project,
        late_trace,
        model="gpt-4o",
        start=DAY1 + timedelta(days=30),
        cost=Decimal("0.004"),
        latency=1,
    )
    score(project, "accuracy", 0.0, observation=late)
    # A prompt served by one model only is not compared.
    llm_call(
        project,
        traces["t-big"],
        model="gpt-4o",
        start=start,
        cost=Decimal("0.1"),
        latency=1,
        prompt="solo",
    )
    # Only the period's day: the late call needs no bucket to stay out.
    rollups.rollup_observations(
        project_id=project.pk, since=DAY1, until=DAY1 + timedelta(days=1)
    )
