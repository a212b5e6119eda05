"""Filter the trace list, then read a session as a conversation, in Chromium."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import make_member
from tracing.models import Granularity, Observation, Trace, UsageBucket
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SESSION = "support/chat 7"


@pytest.fixture
def chats(project):
    """A three-turn support chat on gpt-4o, and unrelated gpt-4o-mini traces."""
    start = timezone.now() - timedelta(hours=1)
    questions = [
        "My invoice shows <b>two</b> charges.",
        "It was on March 3rd.",
        "Thanks, that helps!",
    ]
    for turn, question in enumerate(questions):
        trace = Trace.objects.create(
            project=project,
            trace_id=f"chat-{turn}",
            name="support-reply",
            timestamp=start + timedelta(minutes=turn),
            session_id=SESSION,
            user_id="customer-9",
            input=[
                {"role": "system", "content": "You are a billing assistant."},
                {"role": "user", "content": question},
            ],
            output={"role": "assistant", "content": f"Answer {turn + 1}."},
        )
        Observation.objects.create(
            project=project,
            trace_id=trace.trace_id,
            observation_id=f"chat-{turn}-llm",
            type="GENERATION",
            model="gpt-4o",
            start_time=trace.timestamp,
            end_time=trace.timestamp + timedelta(seconds=1.5),
            usage_details={"input": 300, "output": 40},
            total_cost=Decimal("0.0025"),
            price_source="public",
        )
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago, calls in ((0, 3), (2, 8), (3, 5)):
        UsageBucket.objects.create(
            project=project,
            granularity=Granularity.DAY,
            bucket_start=today - timedelta(days=days_ago),
            user_id="customer-9",
            model="gpt-4o",
            calls=calls,
            total_tokens=340 * calls,
            cost=Decimal("0.0025") * calls,
        )
    for index in range(4):
        trace = Trace.objects.create(
            project=project,
            trace_id=f"other-{index}",
            name="classify",
            timestamp=start + timedelta(minutes=10 + index),
        )
        Observation.objects.create(
            project=project,
            trace_id=trace.trace_id,
            observation_id=f"other-{index}-llm",
            type="GENERATION",
            model="gpt-4o-mini",
            start_time=trace.timestamp,
            end_time=trace.timestamp + timedelta(seconds=0.2),
            usage_details={"input": 50, "output": 5},
            total_cost=Decimal("0.0001"),
            price_source="public",
        )


def test_filter_the_traces_and_read_a_session(live_server, page, shot, project, chats):
    make_member(project, Role.VIEWER, username="vera")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/p/{project.slug}/traces/")
    assert page.locator("table.traces tbody tr").count() == 7
    page.fill("input[name=model]", "gpt-4o")
    page.fill("input[name=cost_above]", "0.002")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**model=gpt-4o**")
    assert page.locator("table.traces tbody tr").count() == 3
    shot("explore-01-filtered-traces")

    page.click("table.traces tbody tr:first-child a[title^='Conversation']")
    page.wait_for_selector("ol.conversation")
    assert page.locator("li.turn").count() == 3
    first_turn = page.inner_text("#turn-1")
    assert "My invoice shows <b>two</b> charges." in first_turn
    assert "Answer 1." in first_turn
    assert "$0.007500" in page.inner_text(".session-totals")
    assert page.locator("nav[aria-label=Project] a.active").inner_text() == "Sessions"
    shot("explore-02-session")

    page.click("nav[aria-label=Project] >> text=Sessions")
    page.wait_for_selector("table.sessions")
    assert SESSION in page.inner_text("table.sessions")
    shot("explore-03-sessions")

    page.click("table.sessions >> text=customer-9")
    page.wait_for_selector("svg.daily-chart")
    assert page.locator("svg.daily-chart rect.bar").count() == 3
    assert "$0.040000" in page.inner_text(".user-totals")
    shot("explore-04-user")
