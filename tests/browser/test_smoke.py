"""Log in and walk the main pages in Chromium, saving a screenshot of each."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from prompts.models import Label, LabelMove, Prompt, PromptVersion
from tests.conftest import make_member
from tracing import rollups
from tracing.models import Observation, Score, Trace
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUIZ = "quiz/QUIZ_GENERATOR"


def add_versions(prompt, *contents):
    versions = [
        PromptVersion.objects.create(
            prompt=prompt,
            number=number,
            content=content,
            config={"model": "gpt-4o-mini", "temperature": 0.3},
            commit_message=f"Tighter wording, take {number}",
            created_by_name="ana",
        )
        for number, content in enumerate(contents, start=1)
    ]
    prompt.highest_version = len(versions)
    prompt.save(update_fields=["highest_version"])
    return versions


@pytest.fixture
def registry(project):
    quiz = Prompt.objects.create(
        project=project, name=QUIZ, type="text", tags=["quiz", "edu"]
    )
    versions = add_versions(
        quiz,
        "Write {{count}} questions about {{topic}} for {{audience}}.",
        "Write {{count}} multiple-choice questions about {{topic}} for "
        "{{audience}}.\nEach question has four options; mark the right one.\n"
        "Never include <b>HTML</b> in the answer.",
    )
    Label.objects.create(prompt=quiz, name="production", version=versions[1])
    Label.objects.create(prompt=quiz, name="staging", version=versions[1])
    Label.objects.create(prompt=quiz, name="latest", version=versions[1])
    LabelMove.objects.create(
        prompt=quiz,
        label="production",
        from_version=None,
        to_version=1,
        moved_by_name="ana",
    )
    LabelMove.objects.create(
        prompt=quiz,
        label="production",
        from_version=1,
        to_version=2,
        moved_by_name="ben",
    )
    chat = Prompt.objects.create(
        project=project, name="interview/QUESTIONS", type="chat"
    )
    chat_version = add_versions(
        chat,
        [
            {"role": "system", "content": "You interview a {{seniority}} {{role}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "Ask the next question."},
        ],
    )[0]
    Label.objects.create(prompt=chat, name="latest", version=chat_version)
    Prompt.objects.create(project=project, name="SUPPORT_TRIAGE", type="text")
    return versions[1]


@pytest.fixture
def traces(project, registry):
    now = timezone.now()
    for index in range(8):
        trace = Trace.objects.create(
            project=project,
            trace_id=f"trace-{index}",
            timestamp=now - timedelta(minutes=5 * index),
            name="quiz-generation" if index % 2 else "interview-turn",
            user_id=f"candidate-{index:03d}",
            session_id=f"session-{index // 3}",
            tags=["beta"] if index % 3 == 0 else [],
            input={"topic": "SQL joins", "count": 5},
            output={"questions": ["What is an inner join?"]},
        )
        start = trace.timestamp
        Observation.objects.create(
            project=project,
            trace_id=trace.trace_id,
            observation_id=f"root-{index}",
            name="handle-request",
            start_time=start,
            end_time=start + timedelta(seconds=2.4),
        )
        Observation.objects.create(
            project=project,
            trace_id=trace.trace_id,
            observation_id=f"gen-{index}",
            parent_observation_id=f"root-{index}",
            type="GENERATION",
            name="generate-questions",
            model="gpt-4o-mini",
            start_time=start + timedelta(seconds=0.1),
            end_time=start + timedelta(seconds=1.9),
            usage_details={"input": 812, "input_cached_tokens": 256, "output": 304},
            total_cost=Decimal("0.000341"),
            price_source="public",
            prompt_version=registry,
            prompt_name=QUIZ,
            prompt_version_number=2,
            input=[{"role": "user", "content": "Write 5 questions about SQL joins"}],
            output={"role": "assistant", "content": "1. What is an inner join?"},
        )
        Observation.objects.create(
            project=project,
            trace_id=trace.trace_id,
            observation_id=f"tri-{index}",
            parent_observation_id=f"root-{index}",
            type="GENERATION",
            name="triage",
            model="acme-triage-7b",
            start_time=start + timedelta(seconds=2.0),
            end_time=start + timedelta(seconds=2.3),
            usage_details={"input": 120, "output": 8},
            price_source="unknown",
            level="ERROR" if index == 0 else "DEFAULT",
            status_message="RateLimitError: 429 Too Many Requests"
            if index == 0
            else None,
        )
    Score.objects.create(
        project=project,
        score_id="s-1",
        trace_id="trace-0",
        name="helpfulness",
        value=0.8,
        data_type="NUMERIC",
        timestamp=now,
        comment="Clear questions",
    )


def test_a_member_walks_prompts_and_traces(live_server, page, shot, project, traces):
    make_member(project, Role.REVIEWER, username="rita")
    base = live_server.url

    page.goto(f"{base}/")
    assert "/login/" in page.url
    shot("00-login")
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    shot("01-home")

    page.click("text=Acme")
    page.wait_for_selector("table.prompts")
    assert page.locator("tr.folder").count() == 2
    shot("02-prompt-list-root")

    page.click("text=quiz/")
    page.wait_for_selector(".breadcrumb .current")
    shot("02-prompt-folder")
    page.click(f"a.prompt-name:text('{QUIZ}')")
    page.wait_for_selector("h1.prompt-title")
    assert page.inner_text("h1.prompt-title") == QUIZ
    assert "8 calls in 8 traces" in page.inner_text(".facts")
    shot("03-prompt-detail")

    page.click("table.versions >> text=v2")
    page.wait_for_selector("pre.prompt-text")
    assert page.locator("pre.prompt-text mark.variable").count() == 3
    assert "<b>HTML</b>" in page.inner_text("pre.prompt-text")
    shot("04-prompt-version")

    page.goto(f"{base}/p/{project.slug}/prompts/interview/QUESTIONS/v/1/")
    assert page.locator(".chat-row").count() == 3
    shot("05-chat-version")

    page.click("nav >> text=Traces")
    page.wait_for_selector("table.traces")
    assert page.locator("table.traces tbody tr").count() == 8
    assert page.locator("table.traces .flag.unpriced").count() == 8
    shot("06-trace-list")

    page.click("table.traces tbody tr:first-child td:first-child a")
    page.wait_for_selector("ol.tree")
    assert page.locator("ol.tree li.node").count() == 3
    page.click("ol.tree li.node:nth-child(2) summary:text('Input')")
    shot("07-trace-detail")

    rollups.rollup_observations(project_id=project.pk)
    page.click("nav >> text=Reports")
    page.wait_for_selector("#spend-report")
    shot("08-reports-spend")
