"""CSV exports of the token inflation, model choice and unpriced reports."""

import csv
import io

import pytest
from django.urls import reverse

from tests.tracing.insight_data import PERIOD, add_graded_calls, add_inflated_buckets
from tests.tracing.test_reports import DEC_2, HOUR, bucket
from workbench.models import Role

pytestmark = pytest.mark.django_db


def read_csv(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_inflation_csv_holds_both_versions_figures(login_as, members, project):
    add_inflated_buckets(project)

    response = login_as(members[Role.VIEWER]).get(
        reverse("report-inflation-csv", args=[project.slug]), PERIOD
    )

    rows = read_csv(response)
    assert response["Content-Disposition"] == (
        'attachment; filename="token-inflation-acme-20261101T00-20261111T00.csv"'
    )
    assert rows[0] == [
        "prompt",
        "version_before",
        "version_after",
        "calls_before",
        "calls_after",
        "mean_tokens_before",
        "mean_tokens_after",
        "ratio",
        "mean_input_tokens_before",
        "mean_input_tokens_after",
        "mean_output_tokens_before",
        "mean_output_tokens_after",
        "cost_per_call_usd_before",
        "cost_per_call_usd_after",
        "label_moves",
    ]
    # The same figures as the inflation API's; summary v3's calls had no price.
    assert rows[1:] == [
        ["summary", "1", "3", "1", "2", "200.00", "700.00", "3.5000"]
        + ["150.00", "500.00", "50.00", "200.00", "0.000200000000", "", ""],
        ["quiz", "1", "2", "10", "4", "1000.00", "1500.00", "1.5000"]
        + ["800.00", "1250.00", "200.00", "250.00"]
        + ["0.001000000000", "0.001500000000", ""],
    ]


def test_the_models_csv_has_a_row_per_model(login_as, members, project):
    add_graded_calls(project)

    response = login_as(members[Role.VIEWER]).get(
        reverse("report-models-csv", args=[project.slug]), PERIOD
    )

    rows = read_csv(response)
    assert [row[:4] + row[6:] for row in rows] == [
        ["group", "model", "calls", "cost_per_call_usd"]
        + ["error_rate", "does_as_well", "scores"],
        ["grader", "gpt-4o", "4", "0.004000000000", "0.2500", "no"]
        + ["accuracy=0.85 (n=2); helpful=0.5 (n=2)"],
        ["grader", "gpt-4o-mini", "4", "0.001000000000", "0.0000", "yes"]
        + ["accuracy=0.82 (n=1); helpful=1.0 (n=1)"],
        ["grader", "claude-3-haiku", "2", "0.002000000000", "0.0000", "no"]
        + ["accuracy: no scores; helpful: no scores"],
    ]
    # Latency percentiles are within 1% of the calls' 2 s (gpt-4o's median).
    assert abs(float(rows[1][4]) - 2) <= 0.02


def test_the_unpriced_csv_lists_models_without_a_price(login_as, members, project):
    bucket(project, DEC_2 + 3 * HOUR, model="acme-7b", calls=5, unpriced_calls=2)
    bucket(project, DEC_2 + 8 * HOUR, model="acme-7b", calls=4, unpriced_calls=1)

    response = login_as(members[Role.VIEWER]).get(
        reverse("report-unpriced-csv", args=[project.slug]),
        {"from": "2026-12-02", "to": "2026-12-02"},
    )

    assert read_csv(response) == [
        ["model", "unpriced_calls", "calls", "first_seen_utc", "last_seen_utc"],
        ["acme-7b", "3", "9", "2026-12-02T03:00:00+00:00", "2026-12-02T09:00:00+00:00"],
    ]


def test_a_bad_period_gets_the_page_with_its_error_not_a_csv(
    login_as, members, project
):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-inflation-csv", args=[project.slug]), {"factor": "0.5"}
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "factor" in response.content.decode()


def test_another_projects_admin_cannot_export(client, other_member, project):
    client.force_login(other_member)

    for name in ("report-inflation-csv", "report-models-csv", "report-unpriced-csv"):
        assert client.get(reverse(name, args=[project.slug])).status_code == 404
