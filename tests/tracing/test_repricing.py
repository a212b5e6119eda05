"""Re-pricing after a model price changes: exact new costs, buckets rebuilt."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from tracing import jobs, repricing, services
from tracing.cost import load_project_prices, price_apply
from tracing.models import (
    BackgroundJob,
    JobKind,
    JobStatus,
    ModelPrice,
    Observation,
    UsageBucket,
)
from tracing.rollups import rollup_hours

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
DAY1 = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
DAY2 = DAY1 + DAY
USAGE = {"input": 1000, "output": 500}
# gpt-4o-mini in genai-prices: $0.15/M in, $0.60/M out.
PUBLIC_COST = Decimal("0.00045")


@pytest.fixture
def calls(project):
    """Store LLM calls priced as ingestion prices them, and roll up their hours."""
    made = []

    def _call(model, start, *, usage=USAGE, reported=None):
        row = Observation(
            project=project,
            observation_id=f"obs-{len(made)}",
            trace_id="trace-1",
            type="GENERATION",
            start_time=start,
            model=model,
            provided_usage_details=usage,
            provided_cost_details=reported or {},
        )
        price_apply(row, load_project_prices(project.id))
        row.save()
        made.append(row)
        rollup_hours(project_id=project.id, hours=[start])
        return row

    return _call


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Run the re-pricing jobs queued inside the block, as a worker would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def cost_of(row):
    row.refresh_from_db()
    return row.total_cost


def bucket_cost(project, granularity, start, model):
    buckets = UsageBucket.objects.filter(
        project=project, granularity=granularity, bucket_start=start, model=model
    )
    return buckets.aggregate(cost=Sum("cost"))["cost"]


def hour(moment):
    return moment.replace(minute=0)


def add_price(project, *, start=None, pattern="^gpt-4o-mini$", prices=None):
    return services.model_price_create(
        project_id=project.id,
        model_name="gpt-4o-mini",
        match_pattern=pattern,
        start_date=start,
        unit="TOKENS",
        prices=prices or {"input": 0.000001, "output": 0.000002},
    )


def test_adding_a_price_reprices_matching_calls_and_their_buckets(
    project, calls, run_jobs
):
    first = calls("gpt-4o-mini", DAY1)
    second = calls("gpt-4o-mini", DAY1 + timedelta(minutes=5))
    other = calls("claude-3-5-sonnet", DAY1)
    assert cost_of(first) == PUBLIC_COST
    assert bucket_cost(project, "hour", hour(DAY1), "gpt-4o-mini") == Decimal("0.0009")

    with run_jobs():
        _, job = add_price(project)

    # 1000 × $1/M + 500 × $2/M
    assert cost_of(first) == cost_of(second) == Decimal("0.002")
    first.refresh_from_db()
    assert first.price_source == "project"
    assert first.price_used["modelName"] == "gpt-4o-mini"
    assert cost_of(other) == Decimal("0.0105")
    assert bucket_cost(project, "hour", hour(DAY1), "gpt-4o-mini") == Decimal("0.004")
    day = DAY1.replace(hour=0, minute=0)
    assert bucket_cost(project, "day", day, "gpt-4o-mini") == Decimal("0.004")
    assert bucket_cost(project, "day", day, "claude-3-5-sonnet") == Decimal("0.0105")
    job.refresh_from_db()
    assert job.kind == JobKind.REPRICE
    assert job.status == JobStatus.DONE
    assert (job.done, job.total) == (2, 2)
    assert job.message == (
        "Re-priced 2 calls: 2 changed cost, 1 hour of reports rebuilt."
    )


def test_a_reported_cost_is_left_as_the_client_sent_it(project, calls, run_jobs):
    reported = calls("gpt-4o-mini", DAY1, reported={"total": "0.5"})

    with run_jobs():
        _, job = add_price(project)

    reported.refresh_from_db()
    assert (reported.total_cost, reported.price_source) == (Decimal("0.5"), "reported")
    job.refresh_from_db()
    assert (job.done, job.total) == (0, 0)
    assert bucket_cost(project, "hour", hour(DAY1), "gpt-4o-mini") == Decimal("0.5")


def test_a_price_starting_tomorrow_leaves_todays_calls_alone(project, calls, run_jobs):
    today = calls("gpt-4o-mini", DAY1)
    tomorrow = calls("gpt-4o-mini", DAY2)

    with run_jobs():
        _, job = add_price(project, start=DAY1.replace(hour=0, minute=0) + DAY)

    assert cost_of(today) == PUBLIC_COST
    assert cost_of(tomorrow) == Decimal("0.002")
    job.refresh_from_db()
    assert job.total == 1
    assert bucket_cost(project, "hour", hour(DAY1), "gpt-4o-mini") == PUBLIC_COST


def test_older_calls_keep_the_older_price(project, calls, run_jobs):
    with run_jobs():
        add_price(project, prices={"input": 0.000001, "output": 0.000001})
    before = calls("gpt-4o-mini", DAY1)
    after = calls("gpt-4o-mini", DAY2)
    assert cost_of(before) == cost_of(after) == Decimal("0.0015")

    with run_jobs():
        add_price(project, start=DAY2 - timedelta(hours=1), prices={"input": 0.00001})

    assert cost_of(before) == Decimal("0.0015")
    # The new price has no output price: only input is charged.
    assert cost_of(after) == Decimal("0.01")
    assert bucket_cost(project, "hour", hour(DAY2), "gpt-4o-mini") == Decimal("0.01")


def test_editing_a_pattern_reprices_what_the_old_and_new_pattern_match(
    project, calls, run_jobs
):
    with run_jobs():
        model_price, _ = add_price(project)
    mini = calls("gpt-4o-mini", DAY1)
    mine = calls("acme-llm", DAY1)
    assert (cost_of(mini), mine.price_source) == (Decimal("0.002"), "unknown")

    with run_jobs():
        _, job = services.model_price_update(
            model_price=model_price,
            model_name="acme-llm",
            match_pattern="^acme-llm$",
            start_date=None,
            unit="TOKENS",
            prices={"input": 0.000003, "output": 0.000004},
        )

    assert cost_of(mini) == PUBLIC_COST
    assert cost_of(mine) == Decimal("0.005")
    assert job.params == {"patterns": ["^acme-llm$", "^gpt-4o-mini$"], "since": None}
    assert bucket_cost(project, "hour", hour(DAY1), "acme-llm") == Decimal("0.005")
    bucket = UsageBucket.objects.get(
        project=project, granularity="hour", model="acme-llm"
    )
    assert bucket.unpriced_calls == 0


def test_an_edit_reprices_from_the_earlier_of_both_start_dates(project, calls):
    model_price, _ = add_price(project, start=DAY2)

    _, job = services.model_price_update(
        model_price=model_price,
        model_name="gpt-4o-mini",
        match_pattern="^gpt-4o-mini$",
        start_date=DAY1,
        unit="TOKENS",
        prices={"input": 0.000001},
    )

    assert job.params["since"] == DAY1.isoformat()


def test_deleting_a_price_returns_its_calls_to_the_public_table(
    project, calls, run_jobs
):
    with run_jobs():
        model_price, _ = add_price(project)
    call = calls("gpt-4o-mini", DAY1)
    assert cost_of(call) == Decimal("0.002")

    with run_jobs():
        services.model_price_delete(model_price=model_price)

    call.refresh_from_db()
    assert (call.total_cost, call.price_source) == (PUBLIC_COST, "public")
    assert bucket_cost(project, "hour", hour(DAY1), "gpt-4o-mini") == PUBLIC_COST


def test_deleting_the_only_price_of_an_unknown_model_makes_its_calls_unpriced(
    project, calls, run_jobs
):
    with run_jobs():
        model_price, _ = add_price(project, pattern="^acme-llm$")
    call = calls("acme-llm", DAY1)

    with run_jobs():
        services.model_price_delete(model_price=model_price)

    call.refresh_from_db()
    assert (call.total_cost, call.price_source) == (None, "unknown")
    bucket = UsageBucket.objects.get(
        project=project, granularity="hour", model="acme-llm"
    )
    assert (bucket.cost, bucket.unpriced_calls) == (Decimal(0), 1)


def test_running_the_same_repricing_twice_changes_nothing_more(project, calls):
    call = calls("gpt-4o-mini", DAY1)
    ModelPrice.objects.create(
        project=project,
        model_name="gpt-4o-mini",
        match_pattern="^gpt-4o-mini$",
        prices={"input": 0.000001, "output": 0.000002},
    )
    progress = []

    first = repricing.observations_reprice(
        project_id=project.id, patterns=["^gpt-4o-mini$"], since=None
    )
    second = repricing.observations_reprice(
        project_id=project.id,
        patterns=["^gpt-4o-mini$"],
        since=None,
        progress=lambda done, total: progress.append((done, total)),
    )

    assert first == "Re-priced 1 call: 1 changed cost, 1 hour of reports rebuilt."
    assert second == "Re-priced 1 call: 0 changed cost, 0 hours of reports rebuilt."
    assert progress == [(0, 1), (1, 1)]
    assert cost_of(call) == Decimal("0.002")


def test_progress_is_reported_chunk_by_chunk(project, calls, monkeypatch):
    monkeypatch.setattr(repricing, "CHUNK", 2)
    for minute in range(5):
        calls("gpt-4o-mini", DAY1 + timedelta(minutes=minute))
    ModelPrice.objects.create(
        project=project,
        model_name="gpt-4o-mini",
        match_pattern="^gpt-4o-mini$",
        prices={"input": 0.000001},
    )
    progress = []

    repricing.observations_reprice(
        project_id=project.id,
        patterns=["^gpt-4o-mini$"],
        since=None,
        progress=lambda done, total: progress.append((done, total)),
    )

    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert bucket_cost(project, "hour", hour(DAY1), "gpt-4o-mini") == Decimal("0.005")


def test_a_failing_repricing_is_kept_as_failed(project, calls, run_jobs, monkeypatch):
    calls("gpt-4o-mini", DAY1)

    def broken(**kwargs):
        raise RuntimeError("bucket table locked")

    monkeypatch.setattr(repricing.rollups, "rollup_hours", broken)
    with run_jobs():
        _, job = add_price(project)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Failed: bucket table locked"


def test_the_job_runner_is_registered_for_repricing():
    assert jobs.RUNNERS[JobKind.REPRICE] is repricing.reprice_job


def test_a_price_that_fails_to_save_queues_no_job(project):
    add_price(project)

    with pytest.raises(services.ModelPriceInputError):
        add_price(project)

    assert BackgroundJob.objects.filter(kind=JobKind.REPRICE).count() == 1
    assert ModelPrice.objects.count() == 1


# The public (Langfuse) models API re-prices too ---------------------------------


def test_the_public_models_api_reprices_on_create_and_delete(
    api, project, calls, run_jobs
):
    call = calls("gpt-4o-mini", DAY1)
    body = {
        "modelName": "gpt-4o-mini",
        "matchPattern": "^gpt-4o-mini$",
        "inputPrice": 0.000001,
        "outputPrice": 0.000002,
    }

    with run_jobs():
        created = api.post(
            "/api/public/models", data=json.dumps(body), content_type="application/json"
        )

    assert created.status_code == 200
    assert cost_of(call) == Decimal("0.002")

    with run_jobs():
        deleted = api.delete(f"/api/public/models/{created.json()['id']}")

    assert deleted.status_code == 204
    assert cost_of(call) == PUBLIC_COST
    assert BackgroundJob.objects.filter(kind=JobKind.REPRICE).count() == 2


def test_the_public_models_api_refuses_a_duplicate_start(api, project):
    body = {"modelName": "m", "matchPattern": "^m$", "inputPrice": 1}
    api.post("/api/public/models", data=body, content_type="application/json")

    again = api.post("/api/public/models", data=body, content_type="application/json")

    assert again.status_code == 400
    assert (
        "startDate: m already has a price from no start date"
        in (again.json()["message"])
    )


def test_a_catastrophic_pattern_matches_no_call_to_reprice(project, calls, caplog):
    calls("a" * 40 + "!", DAY1)
    calls("abc", DAY1)
    caplog.set_level("WARNING", logger="tracing.price_patterns")

    models = repricing.matching_models(project.id, ["(a|a)*$", "^abc$"], None)

    assert models == ["abc"]
    assert f"of project {project.id} timed out on model 'aaaa" in caplog.text
