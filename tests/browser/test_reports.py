"""The Reports pages in Chromium, on ten days of demo-like traffic."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from prompts.models import Prompt, PromptVersion
from tests.conftest import make_member
from tracing import rollups
from tracing.models import Level, Observation, PriceSource, Trace
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (prompt, model, feature, dollars per 1k tokens); None: no known price.
SERVICES = [
    ("interview/question-generator", "gpt-4o-mini", "interviews", Decimal("0.0006")),
    (
        "interview/question-generator",
        "claude-3-5-sonnet",
        "interviews",
        Decimal("0.009"),
    ),
    ("quiz/generator", "gemini-1.5-flash", "quizzes", Decimal("0.0003")),
    ("resume/scorer", "gpt-4o-mini", "hiring", Decimal("0.0006")),
    ("support/triage", "acme-triage-7b", "support", None),
]
USERS = ["candidate-001", "candidate-002", "recruiter-ana", "ops-bot"]


@pytest.fixture
def traffic(project):
    """Ten days of calls, busier on weekdays, some failed, some unpriced."""
    for name in {service[0] for service in SERVICES}:
        prompt = Prompt.objects.create(project=project, name=name, type="text")
        PromptVersion.objects.create(prompt=prompt, number=1, content="Hi")
    rng = random.Random(7)
    now = timezone.now()
    for index in range(240):
        start = now - timedelta(minutes=rng.randint(5, 10 * 24 * 60))
        prompt, model, feature, per_1k = rng.choice(SERVICES)
        trace = Trace.objects.create(
            project=project,
            trace_id=f"t{index}",
            timestamp=start,
            user_id=rng.choice(USERS),
            metadata={"feature": feature},
        )
        failed = rng.random() < 0.08
        tokens = {"input": rng.randint(200, 1500), "output": rng.randint(40, 500)}
        cost = None
        if per_1k is not None and not failed:
            cost = per_1k * (tokens["input"] + tokens["output"]) / 1000
        Observation.objects.create(
            project=project,
            trace_id=trace.trace_id,
            observation_id=f"g{index}",
            type="GENERATION",
            start_time=start,
            end_time=start + timedelta(milliseconds=rng.randint(400, 6000)),
            model=model,
            level=Level.ERROR if failed else Level.DEFAULT,
            usage_details={} if failed else tokens,
            total_cost=cost,
            price_source=PriceSource.UNKNOWN if cost is None else PriceSource.PUBLIC,
            prompt_name=prompt,
            prompt_version_number=1,
        )
    rollups.rollup_observations(project_id=project.pk)


def test_a_viewer_reads_spend_and_trends(live_server, page, shot, project, traffic):
    make_member(project, Role.VIEWER, username="vera")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/p/{project.slug}/traces/")
    page.click("nav >> text=Reports")
    page.wait_for_selector("table.spend-share")
    assert page.locator("table.spend-share tbody tr").count() == 4
    assert "Last 7 days" in page.inner_text(".period-shown")
    shot("reports-01-spend-by-prompt")

    page.click(".by-tabs >> text=Model")
    page.wait_for_selector(".by-tabs a.active:text('Model')")
    assert page.locator("table.spend-share tbody tr").count() == 4
    assert page.locator("table.spend-share .flag.unpriced").count() >= 1

    page.select_option("select[name=period]", "30d")
    page.click("form.period button[type=submit]")
    page.wait_for_selector("option[value='30d'][selected]", state="attached")
    assert "by=model" in page.url
    totals = page.inner_text("table.spend-share tfoot")
    assert totals.startswith("TOTAL\t100%\t240\t")
    shot("reports-02-spend-by-model-30d")

    page.click(".report-tabs >> text=Trends")
    page.wait_for_selector("figure.chart svg rect")
    assert page.locator("figure.chart").count() == 3
    assert page.locator("#chart-cost .legend li").count() == 4
    shot("reports-03-trends")

    page.select_option("select[name=period]", "24h")
    page.click("form.period button[type=submit]")
    page.wait_for_selector("#chart-cost text.axis-label:text('Hour (UTC)')")
    shot("reports-04-trends-24h")

    # Typing dates switches the chooser to a custom window.
    start = (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT00:00")
    page.fill("input[name=from]", start)
    assert page.input_value("select[name=period]") == "custom"
    page.click("form.period button[type=submit]")
    page.wait_for_selector("option[value='custom'][selected]", state="attached")
    assert page.inner_text(".period-shown").startswith(
        f"From – to: {start.replace('T', ' ')} to "
    )
