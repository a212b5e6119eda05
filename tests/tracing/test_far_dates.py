"""Dates and numbers at the calendar's edges are refused, never a 500."""

import pytest

from workbench.models import Role

pytestmark = pytest.mark.django_db

FAR = "9999-12-31"

PAGE_CASES = [
    ("reports/spend/", {"period": "custom", "from": "2026-12-01", "to": FAR}),
    (
        "reports/spend/",
        {"period": "custom", "from": "2026-12-01", "to": FAR + "T23:30"},
    ),
    ("reports/spend/", {"period": "custom", "from": "0001-01-01", "to": "0001-01-02"}),
    ("reports/spend.csv", {"period": "custom", "from": "2026-12-01", "to": FAR}),
    ("reports/trends/", {"period": "custom", "from": "2026-12-01", "to": FAR}),
    ("reports/trends.csv", {"period": "custom", "from": "2026-12-01", "to": FAR}),
    ("reports/unpriced/", {"period": "custom", "from": "2026-12-01", "to": FAR}),
    ("reports/inflation/", {"from": "2026-12-01", "to": FAR}),
    ("reports/inflation/", {"from": "0001-01-01", "to": "0001-01-02"}),
    ("reports/models/", {"from": "2026-12-01", "to": FAR}),
    ("reports/models/", {"from": "9999-12-31T23:30"}),
    ("users/", {"to": FAR}),
    ("users/", {"from": "0001-01-01"}),
    ("traces/", {"from": "0001-01-01", "to": FAR + "T23:59"}),
    ("sessions/", {"from": "0001-01-01", "to": FAR}),
]


@pytest.mark.parametrize("path,query", PAGE_CASES)
def test_pages_refuse_far_dates(login_as, members, path, query):
    client = login_as(members[Role.VIEWER])
    response = client.get(f"/p/acme/{path}", query)
    # Pages show the problem in their form or answer 400; never a 500.
    assert response.status_code in (200, 400), response.status_code


API_CASES = [
    ("reports/spend/", {"from": "1900-01-01", "to": FAR}),
    ("reports/trends/", {"from": "1900-01-01", "to": FAR}),
    ("reports/unpriced/", {"from": "1900-01-01", "to": FAR}),
    ("reports/inflation/", {"from": "1900-01-01", "to": FAR}),
    ("reports/models/", {"from": "2026-01-01", "to": FAR + "T23:30"}),
    ("users/", {"from": "1900-01-01", "to": FAR}),
]


@pytest.mark.parametrize("path,query", API_CASES)
def test_api_refuses_far_dates(login_as, members, path, query):
    client = login_as(members[Role.VIEWER])
    response = client.get(f"/api/v1/projects/acme/{path}", query)
    assert response.status_code == 400, response.content


def test_metrics_refuse_far_timestamps(api):
    response = api.get(
        "/api/public/metrics/daily",
        {
            "fromTimestamp": "0001-01-01T00:00:00Z",
            "toTimestamp": "9999-12-31T23:59:59Z",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"] == []


def test_user_page_names_the_far_to_date(login_as, members, project):
    from tracing.end_users import read_period
    from tracing.explore import QueryReader

    reader = QueryReader({"from": "2026-01-01", "to": FAR})
    read_period(reader)
    assert reader.problems == [
        "to: '9999-12-31' is not between 1900-01-01 and 2999-12-31; ignored."
    ]
    reader = QueryReader({"from": "2020-01-01", "to": "2026-01-01"})
    read_period(reader)
    assert reader.problems == ["to: a period spans at most 400 days; ignored."]


def test_report_period_names_the_far_to_date():
    from tracing.usage import PeriodError, parse_period

    with pytest.raises(PeriodError) as caught:
        parse_period({"from": "2026-12-01", "to": FAR + "T23:30"})
    assert (caught.value.field, caught.value.reason) == (
        "to",
        "'9999-12-31T23:30' is not between 1900-01-01 and 2999-12-31",
    )
    with pytest.raises(PeriodError) as caught:
        parse_period({"from": "2026-12-01", "to": "2999-12-31"})
    assert caught.value.reason == "a period spans at most 400 days"


def test_api_users_names_the_field(login_as, members):
    client = login_as(members[Role.VIEWER])
    response = client.get(
        "/api/v1/projects/acme/users/", {"from": "1900-01-01", "to": FAR}
    )
    assert response.status_code == 400
    assert "9999-12-31 is not between 1900-01-01 and 2999-12-31." in str(
        response.json()
    )
    response = client.get(
        "/api/v1/projects/acme/users/", {"from": "2020-01-01", "to": "2026-01-01"}
    )
    assert response.status_code == 400
    assert "a period spans at most 400 days." in str(response.json())


@pytest.mark.parametrize(
    "query,problem",
    [
        (
            {"latency_above": "1e308"},
            "latency_above: '1e308' is too large (at most 31536000 seconds); ignored.",
        ),
        (
            {"latency_above": "1e14"},
            "latency_above: '1e14' is too large (at most 31536000 seconds); ignored.",
        ),
        (
            {"latency_above": "inf"},
            "latency_above: 'inf' must be a number of seconds, 0 or more; ignored.",
        ),
        (
            {"cost_above": "1e400"},
            "cost_above: '1e400' is too large (at most 1000000000 USD); ignored.",
        ),
        (
            {"cost_above": "Infinity"},
            "cost_above: 'Infinity' must be a number of 0 or more; ignored.",
        ),
    ],
)
def test_trace_list_names_absurd_thresholds(login_as, members, query, problem):
    client = login_as(members[Role.VIEWER])
    response = client.get("/p/acme/traces/", query)
    assert response.status_code == 200
    assert response.context["filters"].problems == [problem]


def test_reports_api_names_the_far_to_date(login_as, members):
    client = login_as(members[Role.VIEWER])
    response = client.get(
        "/api/v1/projects/acme/reports/spend/", {"from": "1900-01-01", "to": FAR}
    )
    assert response.status_code == 400
    assert "'9999-12-31' is not between 1900-01-01 and 2999-12-31" in str(
        response.json()
    )
