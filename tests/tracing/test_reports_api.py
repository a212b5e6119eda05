"""The reports in the native API: /api/v1/projects/<slug>/reports/..."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.native_api import (
    ANONYMOUS,
    PERSONAS,
    assert_error,
    expected_refusal,
    persona_client,
    token_client,
)
from tracing.histograms import Histogram
from tracing.models import Granularity, UsageBucket
from workbench.models import Role

pytestmark = pytest.mark.django_db

DEC_2 = datetime(2026, 12, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
REPORTS = "/api/v1/projects/{slug}/reports/{name}/"
WINDOW = {"from": "2026-12-02T00:00", "to": "2026-12-02T03:00"}


def report_url(name, slug="acme"):
    return REPORTS.format(slug=slug, name=name)


@pytest.fixture
def buckets(project, other_project):
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.HOUR,
        bucket_start=DEC_2,
        prompt_name="greet",
        prompt_version=2,
        model="gpt-4o",
        calls=3,
        errors=1,
        input_tokens=300,
        output_tokens=30,
        total_tokens=330,
        cost=Decimal("0.0030"),
        latency_histogram=Histogram.of([1.0, 2.0, 4.0]).to_dict(),
    )
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.HOUR,
        bucket_start=DEC_2 + HOUR,
        model="acme-7b",
        calls=2,
        unpriced_calls=2,
        input_tokens=50,
        total_tokens=50,
        cost=Decimal("0.001"),
    )
    UsageBucket.objects.create(
        project=other_project,
        granularity=Granularity.HOUR,
        bucket_start=DEC_2,
        model="secret",
        calls=9,
        unpriced_calls=9,
        cost=Decimal("9"),
    )


@pytest.fixture
def viewer_api(members):
    return token_client(members[Role.VIEWER])


@pytest.mark.parametrize("name", ["spend", "trends", "unpriced"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_any_member_reads_the_reports_and_no_one_else(
    members, outsider, other_member, buckets, name, persona
):
    client = persona_client(
        persona, members=members, outsider=outsider, other_member=other_member
    )

    response = client.get(report_url(name), WINDOW)

    if persona in Role.values:
        assert response.status_code == 200
        assert "secret" not in response.content.decode()
    else:
        expected = expected_refusal(persona)
        assert_error(response, expected)
        assert expected == 401 if persona == ANONYMOUS else expected == 404


def test_the_spend_report_is_exact(viewer_api, buckets):
    response = viewer_api.get(report_url("spend"), {"by": "model", **WINDOW})

    assert response.status_code == 200
    assert response.json() == {
        "window": {
            "period": "custom",
            "start": "2026-12-02T00:00:00Z",
            "end": "2026-12-02T03:00:00Z",
        },
        "by": "model",
        "data": [
            {
                "key": "gpt-4o",
                "version": None,
                "share": "0.75",
                "calls": 3,
                "errors": 1,
                "inputTokens": 300,
                "outputTokens": 30,
                "totalTokens": 330,
                "cost": "0.003000000000",
                "costPerCall": "0.001000000000",
                "unpricedCalls": 0,
            },
            {
                "key": "acme-7b",
                "version": None,
                "share": "0.25",
                "calls": 2,
                "errors": 0,
                "inputTokens": 50,
                "outputTokens": 0,
                "totalTokens": 50,
                "cost": "0.001000000000",
                "costPerCall": None,
                "unpricedCalls": 2,
            },
        ],
        "totals": {
            "key": "",
            "version": None,
            "share": "1",
            "calls": 5,
            "errors": 1,
            "inputTokens": 350,
            "outputTokens": 30,
            "totalTokens": 380,
            "cost": "0.004000000000",
            "costPerCall": "0.001333333333333333333333333333",
            "unpricedCalls": 2,
        },
    }


def test_the_spend_report_by_version_splits_the_key(viewer_api, buckets):
    body = viewer_api.get(report_url("spend"), {"by": "version", **WINDOW}).json()

    assert [(row["key"], row["version"]) for row in body["data"]] == [
        ("greet", 2),
        ("", None),
    ]


def test_the_trends_report_gives_slots_series_and_latency(viewer_api, buckets):
    response = viewer_api.get(report_url("trends"), {"by": "model", **WINDOW})

    body = response.json()
    assert body["granularity"] == "hour"
    assert body["slots"] == [
        "2026-12-02T00:00:00Z",
        "2026-12-02T01:00:00Z",
        "2026-12-02T02:00:00Z",
    ]
    assert body["series"] == [
        {
            "key": "gpt-4o",
            "other": False,
            "cost": ["0.003000000000", "0", "0"],
            "calls": [3, 0, 0],
        },
        {
            "key": "acme-7b",
            "other": False,
            "cost": ["0", "0.001000000000", "0"],
            "calls": [0, 2, 0],
        },
    ]
    first = body["latency"][0]
    assert first["count"] == 3
    assert first["p50"] == pytest.approx(2.0, rel=0.01)
    assert body["latency"][1] == {
        "start": "2026-12-02T01:00:00Z",
        "count": 0,
        "p50": None,
        "p95": None,
        "p99": None,
    }


def test_the_unpriced_report_lists_models(viewer_api, buckets):
    body = viewer_api.get(report_url("unpriced"), WINDOW).json()

    assert body["data"] == [
        {
            "model": "acme-7b",
            "unpricedCalls": 2,
            "calls": 2,
            "firstSeen": "2026-12-02T01:00:00Z",
            "lastSeen": "2026-12-02T02:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("spend", {"by": "colour"}, 'by: "colour" is not a valid choice.'),
        ("trends", {"by": "user"}, 'by: "user" is not a valid choice.'),
        ("spend", {"period": "week"}, 'period: "week" is not a valid choice.'),
        ("spend", {"from": "soon"}, "from: 'soon' is not a date (YYYY-MM-DD)"),
        ("unpriced", {"period": "custom"}, "from: a custom period needs a start"),
        (
            "trends",
            {"from": "2026-12-03", "to": "2026-12-01"},
            "to: must be after from",
        ),
        ("unpriced", {"from": "2020-01-01"}, "to: a period spans at most 400 days"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(viewer_api, name, params, fragment):
    response = viewer_api.get(report_url(name), params)

    body = assert_error(response, 400, fragment)
    assert list(body["details"]) == [fragment.split(":")[0]]


def test_an_unknown_project_is_a_404(viewer_api):
    response = viewer_api.get(report_url("spend", slug="nowhere"))

    assert_error(response, 404)


def test_the_schema_documents_the_reports(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    for name in ("spend", "trends", "unpriced"):
        operation = schema["paths"][f"/api/v1/projects/{{slug}}/reports/{name}/"]
        assert operation["get"]["operationId"] == f"reports_{name}"
        assert set(operation["get"]["responses"]) == {"200", "400", "401", "404"}
    spend = schema["paths"]["/api/v1/projects/{slug}/reports/spend/"]["get"]
    assert {p["name"] for p in spend["parameters"]} == {
        "slug",
        "by",
        "period",
        "from",
        "to",
    }
    cost = schema["components"]["schemas"]["SpendRow"]["properties"]["cost"]
    assert cost["type"] == "string" and cost["format"] == "decimal"
