"""The langfuse 2.x SDK reads /api/public/metrics/daily into its own models.

langfuse 5.x has no client for this endpoint (only ``api.metrics.metrics``,
the v2 query API), so 2.x is the SDK that reads it.
"""

from tests.e2e.conftest import wait_for
from tracing.models import Observation
from tracing.rollups import rollup_observations

CALLS = [
    {
        "trace_id": "sdk2-metrics-1",
        "call_id": "sdk2-metrics-call-1",
        "name": "quiz",
        "user_id": "ann",
        "start": "2026-11-02T09:00:00+00:00",
        "model": "gpt-4o",
        "usage": {"input": 100, "output": 20},
        "cost": {"input": 0.001, "output": 0.002},
    },
    {
        "trace_id": "sdk2-metrics-2",
        "call_id": "sdk2-metrics-call-2",
        "name": "chat",
        "user_id": "bob",
        "start": "2026-11-02T15:00:00+00:00",
        "model": "gpt-4o",
        "usage": {"input": 50, "output": 10},
        "cost": {"input": 0.0005, "output": 0.001},
    },
    {
        "trace_id": "sdk2-metrics-3",
        "call_id": "sdk2-metrics-call-3",
        "name": "quiz",
        "user_id": "ann",
        "start": "2026-11-03T10:00:00+00:00",
        "model": "claude-3-5-haiku",
        "usage": {"input": 10, "output": 5},
        "cost": {"input": 0.0001, "output": 0.0002},
    },
]


def usage(model, calls, input_tokens, output_tokens, cost):
    return {
        "model": model,
        "input_usage": input_tokens,
        "output_usage": output_tokens,
        "total_usage": input_tokens + output_tokens,
        "count_traces": calls,
        "count_observations": calls,
        "total_cost": cost,
    }


def metrics(days, *, page=1, limit=50, total_items):
    return {
        "type": "DailyMetrics",
        "meta": {
            "page": page,
            "limit": limit,
            "total_items": total_items,
            "total_pages": -(-total_items // limit),
        },
        "days": days,
    }


def day(date, traces, cost, models):
    return {
        "date": date,
        "count_traces": traces,
        "count_observations": sum(model["count_observations"] for model in models),
        "total_cost": cost,
        "usage": models,
    }


DAY_3 = day("2026-11-03", 1, 0.0003, [usage("claude-3-5-haiku", 1, 10, 5, 0.0003)])
DAY_2 = day("2026-11-02", 2, 0.0045, [usage("gpt-4o", 2, 150, 30, 0.0045)])


def test_daily_metrics_of_calls_the_sdk_reported(sdk2, sdk_project, worker):
    assert sdk2("report_calls", calls=CALLS) == {"sent": 3}
    wait_for(
        lambda: Observation.objects.filter(project=sdk_project).count() == len(CALLS)
    )
    rollup_observations(project_id=sdk_project.pk)

    answers = sdk2(
        "daily_metrics",
        queries=[
            {},
            {"limit": 1, "page": 2},
            {"user_id": "ann", "trace_name": "quiz"},
            {
                "from_timestamp": "2026-11-02T09:00:00+00:00",
                "to_timestamp": "2026-11-02T12:00:00+00:00",
            },
            {"limit": 101},
        ],
    )["answers"]

    assert answers[0] == metrics([DAY_3, DAY_2], total_items=2)
    assert answers[1] == metrics([DAY_2], page=2, limit=1, total_items=2)
    assert answers[2] == metrics(
        [DAY_3, day("2026-11-02", 1, 0.003, [usage("gpt-4o", 1, 100, 20, 0.003)])],
        total_items=2,
    )
    assert answers[3] == metrics(
        [day("2026-11-02", 1, 0.003, [usage("gpt-4o", 1, 100, 20, 0.003)])],
        total_items=1,
    )
    assert answers[4] == {
        "error": "Error",
        "status": 400,
        "body": {
            "message": "Invalid request data: limit: must be at most 100",
            "error": "InvalidRequestError",
            "details": {"limit": "must be at most 100"},
        },
    }
