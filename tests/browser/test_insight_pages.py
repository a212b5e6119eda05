"""The insight report pages and the version usage panel, seen in Chromium."""

import pytest

from prompts.services import version_create
from tests.conftest import make_member
from tests.tracing.insight_data import PERIOD, add_graded_calls, add_inflated_buckets
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_viewer_reads_the_insight_reports(live_server, page, shot, project):
    add_inflated_buckets(project)
    add_graded_calls(project)
    version_create(project=project, name="grader", content="Grade {{answer}}.")
    make_member(project, Role.VIEWER, username="vic")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "vic")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    query = f"from={PERIOD['from']}&to={PERIOD['to']}"

    page.goto(f"{base}/p/{project.slug}/reports/inflation/?{query}")
    shot("insights-inflation")
    rows = page.locator("table.inflation tbody tr")
    assert rows.count() == 2
    assert rows.first.locator("td").nth(2).inner_text() == "×3.50"

    page.goto(f"{base}/p/{project.slug}/reports/models/?{query}")
    shot("insights-models")
    assert "gpt-4o-mini" in page.locator(".cheaper-model").inner_text()

    page.goto(f"{base}/p/{project.slug}/reports/inflation/?factor=1")
    assert (
        page.locator(".error[role=alert]")
        .inner_text()
        .endswith("factor: must be greater than 1 and at most 100.")
    )

    page.goto(f"{base}/p/{project.slug}/prompts/grader/v/1/")
    shot("insights-version-usage")
    assert page.locator("#usage h2").inner_text().startswith("Usage")
