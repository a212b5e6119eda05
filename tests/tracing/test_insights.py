"""Insight reports: token inflation, model choice and a version's usage.

Figures are built by hand (day buckets) or from observations rolled up by
``tracing.rollups``, and asserted exactly through the pages and the API.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from prompts.models import LabelMove, Prompt
from prompts.services import version_create
from tests.native_api import (
    PERSONAS,
    assert_error,
    expected_refusal,
    persona_client,
    token_client,
)
from tests.tracing.insight_data import (
    DAY1,
    PERIOD,
    add_graded_calls,
    add_inflated_buckets,
    day_bucket,
    llm_call,
    score,
)
from tracing import insights, rollups
from tracing.histograms import Histogram
from tracing.models import Granularity, Trace, UsageBucket
from workbench.models import Role

pytestmark = pytest.mark.django_db

INFLATION_API = "/api/v1/projects/{}/reports/inflation/"
MODELS_API = "/api/v1/projects/{}/reports/models/"


@pytest.fixture
def inflated(project):
    """See ``add_inflated_buckets``: quiz v2 and summary v3 inflate."""
    add_inflated_buckets(project)


# Token inflation ----------------------------------------------------------------


def test_the_api_lists_inflated_versions_with_exact_figures(inflated, project, members):
    client = token_client(members[Role.VIEWER])

    response = client.get(INFLATION_API.format(project.slug), PERIOD)

    body = response.json()
    assert response.status_code == 200, body
    assert body["factor"] == 1.5
    assert body["period"] == {
        "start": "2026-11-01T00:00:00Z",
        "end": "2026-11-11T00:00:00Z",
    }
    assert [(i["prompt"], i["fromVersion"], i["toVersion"]) for i in body["data"]] == [
        ("summary", 1, 3),
        ("quiz", 1, 2),
    ]
    summary, quiz = body["data"]
    assert summary["ratio"] == 3.5
    assert summary["before"]["costPerCall"] == "0.000200000000"
    assert summary["after"]["costPerCall"] is None
    assert summary["after"]["unpricedCalls"] == 2
    assert quiz["ratio"] == 1.5
    assert quiz["before"] == {
        "calls": 10,
        "errors": 0,
        "errorRate": 0.0,
        "cost": "0.010000000000",
        "costPerCall": "0.001000000000",
        "unpricedCalls": 0,
        "meanTotalTokens": 1000.0,
        "meanInputTokens": 800.0,
        "meanOutputTokens": 200.0,
        "latencyP50": None,
        "latencyP95": None,
        "latencyP99": None,
    }
    after = quiz["after"]
    assert (after["calls"], after["meanTotalTokens"]) == (4, 1500.0)
    assert (after["meanInputTokens"], after["meanOutputTokens"]) == (1250.0, 250.0)
    assert after["costPerCall"] == "0.001500000000"
    # Neither prompt is in the registry: no diff to link to.
    assert quiz["diffUrl"] is None


def test_a_lower_factor_finds_smaller_rises(inflated, project, members):
    period = insights.report_period(DAY1 - timedelta(days=1), DAY1 + timedelta(days=9))

    found = insights.token_inflation(project, period, factor=Decimal("1.02"))

    assert [(i.prompt_name, i.after_version, i.ratio) for i in found] == [
        ("summary", 3, Decimal("3.5000")),
        ("quiz", 2, Decimal("1.5000")),
        ("chat", 2, Decimal("1.4000")),
        ("quiz", 3, Decimal("1.0222")),
    ]
    quiz_v3 = found[-1]
    assert quiz_v3.before.mean_total_tokens == Decimal("1500.00")
    assert quiz_v3.after.mean_total_tokens == Decimal("1533.33")


@pytest.mark.parametrize(
    ("factor", "reason"),
    [
        ("1", "must be greater than 1"),
        ("0.5", "must be greater than 1"),
        ("101", "at most 100"),
        ("abc", "'abc' is not a number"),
        ("NaN", "must be greater than 1"),
        ("Infinity", "must be greater than 1"),
    ],
)
def test_a_bad_factor_is_refused_by_name(project, members, factor, reason):
    client = token_client(members[Role.VIEWER])

    response = client.get(INFLATION_API.format(project.slug), {"factor": factor})

    body = assert_error(response, 400, "factor:", reason)
    assert list(body["details"]) == ["factor"]


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"from": "2026-11-05", "to": "2026-11-05"}, "from", "must be before 'to'"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from", "must be before 'to'"),
        ({"from": "2024-01-01", "to": "2026-11-01"}, "from", "longer than 366"),
        ({"to": "yesterday"}, "to", "'yesterday' is not a date"),
        ({"from": "2026-13-45"}, "from", "is not a date"),
    ],
)
def test_a_bad_period_is_refused_by_name(project, members, query, field, reason):
    client = token_client(members[Role.VIEWER])

    response = client.get(INFLATION_API.format(project.slug), query)

    body = assert_error(response, 400, f"{field}:", reason)
    assert list(body["details"]) == [field]


def test_the_page_shows_the_factor_error_in_its_form(
    login_as, members, project, inflated
):
    client = login_as(members[Role.VIEWER])
    url = reverse("report-inflation", args=[project.slug])

    refused = client.get(url, {"factor": "0.9"})
    accepted = client.get(url, {"factor": "1.3", **PERIOD})

    assert refused.status_code == 400
    assert "<b>factor</b>: must be greater than 1 and at most 100." in (
        refused.content.decode()
    )
    assert (
        'name="factor" value="0.9" min="1.01" max="100" step="0.01" aria-invalid'
        in (refused.content.decode())
    )
    assert accepted.status_code == 200
    page = accepted.content.decode()
    assert "×3.50" in page and "×1.50" in page and "×1.40" in page
    assert "×1.02" not in page
    assert "1000.00 → 1500.00" in page
    assert "$0.001000 → $0.001500" in page


def test_label_moves_around_the_change_are_shown_with_a_diff_link(
    project, members, login_as
):
    editor = members[Role.EDITOR]
    for number in (1, 2):
        version_create(
            project=project,
            name="hr/screen",
            content=f"v{number} {{{{topic}}}}",
            actor=editor,
        )
    prompt = Prompt.objects.get(project=project, name="hr/screen")
    moves = [
        # Set long before v2 was first called: outside the history shown.
        ("production", None, 1, DAY1 - timedelta(days=30)),
        ("staging", 1, 2, DAY1 - timedelta(days=2)),
        ("production", 1, 2, DAY1 + timedelta(days=3, hours=9)),
    ]
    for label, old, new, at in moves:
        move = LabelMove.objects.create(
            prompt=prompt,
            label=label,
            from_version=old,
            to_version=new,
            moved_by_name="alice",
        )
        LabelMove.objects.filter(pk=move.pk).update(moved_at=at)
    day_bucket(project, 0, prompt="hr/screen", version=1, calls=2, input_tokens=200)
    day_bucket(project, 3, prompt="hr/screen", version=2, calls=2, input_tokens=600)
    client = login_as(members[Role.VIEWER])

    page = client.get(reverse("report-inflation", args=[project.slug]), PERIOD)
    api = token_client(members[Role.VIEWER]).get(
        INFLATION_API.format(project.slug), PERIOD
    )

    html = page.content.decode()
    assert "staging moved v1 → v2" in html
    assert "production moved v1 → v2" in html
    assert "on <time" in html and "2026-11-05 09:00</time> by alice" in html
    assert "production set to v1" not in html
    assert '/p/acme/diff/hr/screen/?from=1&amp;to=2">diff</a>' in html
    (item,) = api.json()["data"]
    assert [move["text"] for move in item["labelMoves"]] == [
        "staging moved v1 → v2",
        "production moved v1 → v2",
    ]
    assert item["labelMoves"][1]["movedAt"] == "2026-11-05T09:00:00Z"
    assert item["diffUrl"] == "/p/acme/diff/hr/screen/?from=1&to=2"


def test_the_inflation_report_reads_three_queries(
    inflated, project, django_assert_num_queries
):
    period = insights.report_period(DAY1 - timedelta(days=1), DAY1 + timedelta(days=9))

    with django_assert_num_queries(3):
        insights.token_inflation(project, period)


# Model choice ---------------------------------------------------------------------


@pytest.fixture
def graded(project):
    """See ``add_graded_calls``: gpt-4o-mini does as well as gpt-4o."""
    add_graded_calls(project)


def test_the_models_api_compares_models_with_scores(graded, project, members):
    client = token_client(members[Role.VIEWER])

    response = client.get(MODELS_API.format(project.slug), PERIOD)

    body = response.json()
    assert response.status_code == 200, body
    assert (body["by"], body["tolerance"]) == ("prompt", 0.95)
    (grader,) = body["data"]
    assert grader["key"] == "grader"
    assert grader["scoreNames"] == ["accuracy", "helpful"]
    assert (grader["cheaperModel"], grader["insteadOf"]) == ("gpt-4o-mini", "gpt-4o")
    assert grader["saving"] == 0.75
    rows = {row["model"]: row for row in grader["models"]}
    assert [row["model"] for row in grader["models"]] == [
        "gpt-4o",
        "gpt-4o-mini",
        "claude-3-haiku",
    ]
    big = rows["gpt-4o"]
    assert big["usage"]["calls"] == 4
    assert big["usage"]["costPerCall"] == "0.004000000000"
    assert big["usage"]["errorRate"] == 0.25
    assert big["usage"]["latencyP50"] == round(Histogram.of([2]).quantile(0.5), 3)
    # Nearest rank ceil(0.95 * 4) - 1 = 3: the slowest call, 4 seconds.
    assert big["usage"]["latencyP95"] == round(Histogram.of([4]).quantile(0.5), 3)
    assert abs(big["usage"]["latencyP50"] - 2) <= 0.02
    assert big["scores"] == [
        {"name": "accuracy", "mean": 0.85, "count": 2, "std": 0.0707},
        {"name": "helpful", "mean": 0.5, "count": 2, "std": 0.7071},
    ]
    assert big["doesAsWell"] is False
    # gpt-4o is best on accuracy; one helpful score for mini is too few to test.
    assert big["pValuesVsBest"] == {"helpful": None}
    mini = rows["gpt-4o-mini"]
    assert (mini["usage"]["calls"], mini["usage"]["costPerCall"]) == (
        4,
        "0.001000000000",
    )
    assert mini["usage"]["errorRate"] == 0.0
    assert mini["scores"] == [
        {"name": "accuracy", "mean": 0.82, "count": 1, "std": None},
        {"name": "helpful", "mean": 1.0, "count": 1, "std": None},
    ]
    assert mini["doesAsWell"] is True
    assert mini["pValuesVsBest"] == {"accuracy": None}
    claude = rows["claude-3-haiku"]
    assert claude["scores"] == []
    assert claude["doesAsWell"] is False
    assert claude["usage"]["costPerCall"] == "0.002000000000"


def test_a_strict_tolerance_leaves_no_cheaper_model(graded, project, members):
    client = token_client(members[Role.VIEWER])

    response = client.get(
        MODELS_API.format(project.slug), {**PERIOD, "tolerance": "0.97"}
    )

    (grader,) = response.json()["data"]
    assert grader["cheaperModel"] is None and grader["saving"] is None
    assert [row["doesAsWell"] for row in grader["models"]] == [False, False, False]


def test_a_dearer_model_without_scores_is_not_the_one_replaced(
    graded, project, members
):
    # claude-3-5-sonnet serves "grader" at $0.02 a call but nobody scored it.
    trace = Trace.objects.create(
        project=project, trace_id="t-sonnet", timestamp=DAY1 + timedelta(hours=10)
    )
    for _ in range(2):
        llm_call(
            project,
            trace,
            model="claude-3-5-sonnet",
            start=DAY1 + timedelta(hours=10),
            cost=Decimal("0.02"),
            latency=3,
        )
    rollups.rollup_observations(
        project_id=project.pk, since=DAY1, until=DAY1 + timedelta(days=1)
    )
    client = token_client(members[Role.VIEWER])

    response = client.get(MODELS_API.format(project.slug), PERIOD)

    (grader,) = response.json()["data"]
    sonnet = {row["model"]: row for row in grader["models"]}["claude-3-5-sonnet"]
    assert sonnet["scores"] == [] and sonnet["doesAsWell"] is False
    assert (grader["cheaperModel"], grader["insteadOf"]) == ("gpt-4o-mini", "gpt-4o")
    assert grader["saving"] == 0.75


def test_no_cheaper_model_when_only_unscored_models_cost_more(project, members):
    start = DAY1 + timedelta(hours=10)
    trace = Trace.objects.create(project=project, trace_id="t-one", timestamp=start)
    cheap = llm_call(
        project,
        trace,
        model="gpt-4o-mini",
        start=start,
        cost=Decimal("0.001"),
        latency=1,
    )
    llm_call(
        project,
        trace,
        model="claude-3-5-sonnet",
        start=start,
        cost=Decimal("0.02"),
        latency=1,
    )
    score(project, "accuracy", 0.9, observation=cheap)
    rollups.rollup_observations(
        project_id=project.pk, since=DAY1, until=DAY1 + timedelta(days=1)
    )
    client = token_client(members[Role.VIEWER])

    response = client.get(MODELS_API.format(project.slug), PERIOD)

    (grader,) = response.json()["data"]
    assert [row["model"] for row in grader["models"]] == [
        "claude-3-5-sonnet",
        "gpt-4o-mini",
    ]
    assert grader["cheaperModel"] is None and grader["insteadOf"] is None
    assert grader["saving"] is None


def test_models_by_feature_use_the_traces_feature(graded, project, members):
    client = token_client(members[Role.VIEWER])

    response = client.get(MODELS_API.format(project.slug), {**PERIOD, "by": "feature"})

    (grading,) = response.json()["data"]
    assert grading["key"] == "grading"
    assert grading["cheaperModel"] == "gpt-4o-mini"
    rows = {row["model"]: row for row in grading["models"]}
    # The "solo" prompt's call is in the same feature: gpt-4o has 5 calls here.
    assert rows["gpt-4o"]["usage"]["calls"] == 5
    assert rows["gpt-4o"]["scores"][0] == {
        "name": "accuracy",
        "mean": 0.85,
        "count": 2,
        "std": 0.0707,
    }
    assert rows["gpt-4o-mini"]["scores"][0]["count"] == 1


def test_the_models_page_highlights_the_cheaper_model(
    graded, project, members, login_as
):
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("report-models", args=[project.slug]), PERIOD)

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "Cheaper model that does as well: <b>gpt-4o-mini</b> at $0.001000 per call, "
        "75.0% less than gpt-4o ($0.004000)."
    ) in page
    assert '0.85 <span class="muted small">n=2</span>' in page
    assert "where both models have two or more scores that vary, p is Welch" in page
    assert "no scores" in page
    assert "25.00%" in page
    assert "solo" not in page


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"by": "user"}, "by", "must be one of prompt, feature"),
        ({"tolerance": "0.2"}, "tolerance", "between 0.5 and 1"),
        ({"tolerance": "1.5"}, "tolerance", "between 0.5 and 1"),
        ({"tolerance": "x"}, "tolerance", "'x' is not a number"),
    ],
)
def test_bad_model_report_parameters_are_refused_by_name(
    project, members, login_as, query, field, reason
):
    api = token_client(members[Role.VIEWER]).get(MODELS_API.format(project.slug), query)
    page = login_as(members[Role.VIEWER]).get(
        reverse("report-models", args=[project.slug]), query
    )

    assert_error(api, 400, f"{field}:", reason)
    assert page.status_code == 400
    assert f"<b>{field}</b>: " in page.content.decode()


def test_the_model_report_reads_two_queries(graded, project, django_assert_num_queries):
    period = insights.report_period(DAY1 - timedelta(days=1), DAY1 + timedelta(days=9))

    with django_assert_num_queries(2):
        insights.model_choice(project, period)


# One version's usage ------------------------------------------------------------


@pytest.fixture
def used_version(project, members, graded):
    """Version 1 of "grader" in the registry: the graded calls used it."""
    return version_create(
        project=project,
        name="grader",
        content="Grade {{answer}}.",
        actor=members[Role.EDITOR],
    )


def usage_url(version, slug="acme"):
    return (
        f"/api/v1/projects/{slug}/prompts/{version.prompt_id}/versions/"
        f"{version.number}/usage/"
    )


def test_the_version_usage_api_sums_the_versions_calls(used_version, project, members):
    client = token_client(members[Role.VIEWER])

    response = client.get(usage_url(used_version), PERIOD)

    body = response.json()
    assert response.status_code == 200, body
    assert (body["prompt"], body["version"]) == ("grader", 1)
    usage = body["usage"]
    assert usage["calls"] == 10
    assert usage["errors"] == 1 and usage["errorRate"] == 0.1
    assert usage["cost"] == "0.024000000000"
    assert usage["costPerCall"] == "0.002400000000"
    assert (usage["meanTotalTokens"], usage["meanInputTokens"]) == (120.0, 100.0)
    assert usage["latencyP50"] == round(Histogram.of([1]).quantile(0.5), 3)
    # Ten latencies; the 99th percentile's nearest rank (9 from 0) holds 4 seconds.
    assert usage["latencyP99"] == round(Histogram.of([4]).quantile(0.5), 3)
    # Accuracy: 0.9, 0.8 and the mini trace's 0.82 once.
    assert body["scores"] == [
        {"name": "accuracy", "mean": 0.84, "count": 3, "std": 0.0529},
        {"name": "helpful", "mean": 0.6667, "count": 3, "std": 0.5774},
    ]
    assert body["tracesUrl"] == "/p/acme/traces/?prompt=grader&version=1"


def test_a_version_without_calls_says_so_and_links_its_traces(
    project, members, login_as
):
    version_create(project=project, name="quiet", content="Q")
    client = login_as(members[Role.VIEWER])
    url = reverse("prompt-version", args=[project.slug, "quiet", 1])

    page = client.get(url).content.decode()

    assert "No calls of this version in the last 30 days." in page
    assert '/p/acme/traces/?prompt=quiet&amp;version=1">Traces that used' in page


def test_the_version_panel_shows_figures_from_the_buckets(project, members, login_as):
    version = version_create(
        project=project, name="quiz", content="Q", actor=members[Role.EDITOR]
    )
    hour = insights.report_period().end - timedelta(hours=3)
    # The hour lies in a whole day or in the partial last day of the window,
    # depending on the time of the run; the window reads exactly one of these.
    for granularity, start in (
        (Granularity.HOUR, hour),
        (Granularity.DAY, hour.replace(hour=0)),
    ):
        UsageBucket.objects.create(
            project=project,
            granularity=granularity,
            bucket_start=start,
            prompt_name="quiz",
            prompt_version=1,
            model="gpt-4o",
            calls=8,
            errors=2,
            input_tokens=800,
            output_tokens=200,
            total_tokens=1000,
            cost=Decimal("0.02"),
            latency_histogram=Histogram.of([1.0] * 8).to_dict(),
        )
    client = login_as(members[Role.VIEWER])

    page = client.get(
        reverse("prompt-version", args=[project.slug, "quiz", version.number])
    ).content.decode()

    assert "<dt>Calls</dt><dd>8</dd>" in page
    assert "<dt>Cost</dt><dd>$0.020000" in page
    assert "<dt>Cost per call</dt><dd>$0.002500" in page
    assert "<dd>125.00 <span" in page and "(100.00 in, 25.00 out)" in page
    assert "<dt>Error rate</dt><dd>25.00%</dd>" in page


# Access ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_the_right_answer_from_the_apis(
    persona, project, members, outsider, other_member, used_version
):
    client = persona_client(
        persona, members=members, outsider=outsider, other_member=other_member
    )
    urls = [
        INFLATION_API.format(project.slug),
        MODELS_API.format(project.slug),
        usage_url(used_version),
    ]

    statuses = {client.get(url).status_code for url in urls}

    assert statuses == (
        {200} if persona in Role.values else {expected_refusal(persona)}
    )


def test_one_project_never_sees_anothers_figures(
    inflated, graded, project, other_project, other_member
):
    client = token_client(other_member)
    version = version_create(project=other_project, name="quiz", content="Q")

    inflation = client.get(INFLATION_API.format(other_project.slug), PERIOD)
    models = client.get(MODELS_API.format(other_project.slug), PERIOD)
    usage = client.get(usage_url(version, other_project.slug), PERIOD)
    theirs = client.get(INFLATION_API.format(project.slug), PERIOD)

    assert inflation.json()["data"] == [] and models.json()["data"] == []
    assert usage.json()["usage"]["calls"] == 0 and usage.json()["scores"] == []
    assert_error(theirs, 404)


def test_a_version_of_another_project_is_404(used_version, other_member, other_project):
    client = token_client(other_member)

    response = client.get(usage_url(used_version, other_project.slug))

    assert_error(response, 404, "No such prompt")


def test_an_unknown_version_is_404(used_version, members):
    client = token_client(members[Role.VIEWER])
    url = usage_url(used_version).replace("/versions/1/", "/versions/9/")

    assert_error(client.get(url), 404, "No such version")


def test_the_schema_documents_the_report_endpoints(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    paths = schema["paths"]
    inflation = paths["/api/v1/projects/{slug}/reports/inflation/"]["get"]
    assert inflation["operationId"] == "reports_inflation"
    assert {p["name"] for p in inflation["parameters"]} >= {"factor", "from", "to"}
    models = paths["/api/v1/projects/{slug}/reports/models/"]["get"]
    assert models["operationId"] == "reports_models"
    usage = paths[
        "/api/v1/projects/{slug}/prompts/{prompt_id}/versions/{number}/usage/"
    ]["get"]
    assert set(usage["responses"]) == {"200", "400", "401", "403", "404"}


def test_the_score_p_value_is_welchs_test_on_the_raw_scores():
    from scipy.stats import ttest_ind

    from tracing.insights import ScoreStat

    cheap, best = [0.7, 0.9, 0.8, 1.0], [0.9, 1.0, 0.95, 1.0, 0.85]
    cheap_stat, best_stat = ScoreStat("accuracy"), ScoreStat("accuracy")
    cheap_stat.add(len(cheap), sum(cheap), sum(v * v for v in cheap))
    best_stat.add(len(best), sum(best), sum(v * v for v in best))

    expected = ttest_ind(cheap, best, equal_var=False).pvalue
    assert cheap_stat.p_value_against(best_stat) == round(float(expected), 4)
    assert 0.05 < expected < 0.5
    # Scores that never vary leave the test undefined: no p-value.
    flat = ScoreStat("accuracy")
    flat.add(3, 3.0, 3.0)
    assert flat.p_value_against(flat) is None
