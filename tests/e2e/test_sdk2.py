"""The langfuse 2.x SDK, unmodified, against a live workbench.

2.x sends folder names unencoded (``/api/public/v2/prompts/e2e/folder/quiz``)
and reports traces as JSON batches to /api/public/ingestion.
"""

from decimal import Decimal

import pytest

from prompts.models import Prompt
from prompts.services import version_create
from tests.e2e.conftest import wait_for
from tracing.models import Observation, Trace

FOLDER_QUIZ = "e2e/folder/quiz"
GRADER = "e2e-grader"


@pytest.fixture
def prompts(sdk_project):
    version_create(
        project=sdk_project,
        name=FOLDER_QUIZ,
        content="Write {{count}} questions about {{topic}}.",
        config={"model": "gpt-4o-mini"},
        labels=["production"],
    )
    version_create(
        project=sdk_project,
        name=FOLDER_QUIZ,
        content="Write {{count}} tricky questions about {{topic}}.",
        labels=["staging"],
    )
    # No placeholder: 2.x cannot parse chat prompts that hold one.
    version_create(
        project=sdk_project,
        name=GRADER,
        type="chat",
        content=[
            {"role": "system", "content": "You interview a {{role}}."},
            {"role": "user", "content": "First question, please."},
        ],
        labels=["production"],
    )
    return Prompt.objects.get(project=sdk_project, name=FOLDER_QUIZ)


def test_get_prompt_with_an_unencoded_folder_name_then_compile(sdk2, prompts):
    result = sdk2("get_prompts", folder_text=FOLDER_QUIZ, chat=GRADER)

    assert result["default"]["name"] == FOLDER_QUIZ
    assert result["default"]["version"] == 1
    assert result["default"]["config"] == {"model": "gpt-4o-mini"}
    assert result["staging"]["version"] == 2
    assert result["by_version"]["version"] == 1
    assert result["compiled_text"] == "Write 3 questions about SQL joins."
    assert result["compiled_chat"] == [
        {"role": "system", "content": "You interview a Data engineer."},
        {"role": "user", "content": "First question, please."},
    ]


def test_create_prompt_text_and_chat(sdk2, sdk_project):
    result = sdk2("create_prompts", text="e2e/translate", chat="e2e/sdk2-chat")

    assert result["text"]["version"] == 1
    assert sorted(result["text"]["labels"]) == ["latest", "production"]
    assert result["chat"]["version"] == 1
    text = Prompt.objects.get(project=sdk_project, name="e2e/translate")
    assert text.tags == ["e2e", "sdk2"]
    version = text.versions.get()
    assert version.content == "Translate {{sentence}} into {{language}}."
    assert version.config == {"model": "gpt-4o-mini", "temperature": 0.1}
    chat = Prompt.objects.get(project=sdk_project, name="e2e/sdk2-chat")
    assert chat.type == "chat"
    assert chat.labels.get(name="staging").version.number == 1


def test_a_trace_and_generation_end_with_public_price_and_prompt_link(
    sdk2, prompts, worker, read_api
):
    result = sdk2(
        "traced_generation",
        name=FOLDER_QUIZ,
        model="gpt-4o-mini",
        usage={"input": 800, "output": 100, "unit": "TOKENS"},
    )

    def generation_view():
        response = read_api.get(f"/api/public/observations/{result['observation_id']}")
        return response.json() if response.status_code == 200 else None

    view = wait_for(generation_view)
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output
    assert Decimal(str(view["calculatedTotalCost"])) == Decimal("0.00018")
    assert view["promptName"] == FOLDER_QUIZ
    assert view["promptVersion"] == 1
    assert view["traceId"] == result["trace_id"]
    observation = Observation.objects.get(observation_id=result["observation_id"])
    assert observation.total_cost == Decimal("0.00018")
    assert observation.price_source == "public"
    assert observation.prompt_version == prompts.versions.get(number=1)
    assert observation.latency_seconds == pytest.approx(0.9, abs=0.01)

    def finished_trace():
        trace = Trace.objects.filter(trace_id=result["trace_id"]).first()
        return trace if trace and trace.output == "done" else None

    trace = wait_for(finished_trace)
    assert (trace.user_id, trace.session_id) == ("sdk2-user", "sdk2-session")
    assert trace.name == "quiz-sdk2"
