"""The langfuse 5.x SDK, unmodified, against a live workbench.

5.x fetches and writes prompts over the REST API and reports traces as OTLP
protobuf (gzip); the worker turns them into traces and observations.
"""

from decimal import Decimal

import pytest

from prompts.models import Label, LabelMove, Prompt, PromptVersion
from prompts.services import label_move, version_create
from tests.e2e.conftest import wait_for
from tracing.models import ModelPrice, Observation, Trace

QUIZ = "e2e/quiz"
INTERVIEW = "e2e/interviewer"


@pytest.fixture
def prompts(sdk_project):
    version_create(
        project=sdk_project,
        name=QUIZ,
        content="Write {{count}} questions about {{topic}}.",
        config={"model": "e2e-model", "temperature": 0.2},
        labels=["production"],
        tags=["quiz"],
        commit_message="First",
    )
    version_create(
        project=sdk_project,
        name=QUIZ,
        content="Write {{count}} hard questions about {{topic}}.",
        config={"model": "e2e-model", "temperature": 0.4},
        labels=["staging"],
        commit_message="Harder",
    )
    version_create(
        project=sdk_project,
        name=INTERVIEW,
        type="chat",
        content=[
            {"role": "system", "content": "You interview a {{role}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "Next question."},
        ],
        labels=["production"],
    )
    return Prompt.objects.get(project=sdk_project, name=QUIZ)


def test_get_prompt_by_label_version_and_default_then_compile(sdk5, prompts):
    result = sdk5("get_prompts", text=QUIZ, chat=INTERVIEW)

    assert result["by_label"]["version"] == 2
    assert result["by_label"]["prompt"] == (
        "Write {{count}} hard questions about {{topic}}."
    )
    assert sorted(result["by_label"]["labels"]) == ["latest", "staging"]
    assert result["by_label"]["config"] == {"model": "e2e-model", "temperature": 0.4}
    assert result["by_version"]["version"] == 1
    assert result["default"]["version"] == 1
    assert result["default"]["labels"] == ["production"]
    assert result["default"]["tags"] == ["quiz"]
    assert result["default"]["is_fallback"] is False
    assert result["compiled_text"] == "Write 3 questions about SQL joins."
    assert result["chat"]["variables"] == ["role"]
    assert result["compiled_chat"] == [
        {"role": "system", "content": "You interview a Data engineer."},
        {"role": "user", "content": "Hi, I am ready."},
        {"role": "user", "content": "Next question."},
    ]


def test_create_prompt_text_and_chat(sdk5, sdk_project):
    result = sdk5("create_prompts", text="e2e/summary", chat="e2e/new-chat")

    assert result["text"]["version"] == 1
    assert sorted(result["text"]["labels"]) == ["latest", "staging"]
    assert result["text"]["config"] == {"model": "gpt-4o-mini", "temperature": 0.2}
    assert result["second"]["version"] == 2
    assert result["fetched_chat"]["version"] == 1
    assert result["fetched_chat"]["variables"] == ["role"]
    summary = Prompt.objects.get(project=sdk_project, name="e2e/summary")
    assert summary.type == "text"
    assert summary.tags == ["e2e"]
    labels = {label.name: label.version.number for label in summary.labels.all()}
    assert labels == {"latest": 2, "staging": 1, "production": 2}
    first = summary.versions.get(number=1)
    assert first.content == "Summarise {{document}} in {{words}} words."
    assert first.commit_message == "Created by the 5.x SDK"
    chat = PromptVersion.objects.get(prompt__name="e2e/new-chat", number=1)
    assert chat.prompt.type == "chat"
    assert chat.content[1] == {"type": "placeholder", "name": "history"}


def test_update_prompt_moves_a_label(sdk5, prompts):
    result = sdk5("update_prompt", name=QUIZ, version=2, label="production")

    assert result["before"]["version"] == 1
    assert "production" in result["updated"]["labels"]
    assert result["after"]["version"] == 2
    assert Label.objects.get(prompt=prompts, name="production").version.number == 2
    move = LabelMove.objects.filter(prompt=prompts, label="production").first()
    assert (move.from_version, move.to_version) == (1, 2)


def test_a_label_move_is_seen_on_the_next_fetch(sdk5_process, prompts, sdk_project):
    process = sdk5_process("watch_label", name=QUIZ, label="production")
    first = process.stdout.readline()
    assert '"version": 1' in first, first + process.stderr.read()

    label_move(prompt=prompts, label="production", version_number=2)
    process.stdin.write("moved\n")
    process.stdin.flush()
    second = process.stdout.readline()

    assert '"version": 2' in second, second + process.stderr.read()
    assert "hard questions" in second
    assert process.wait(timeout=30) == 0


@pytest.fixture
def e2e_model_price(sdk_project):
    return ModelPrice.objects.create(
        project=sdk_project,
        model_name="e2e-model",
        match_pattern="(?i)^e2e-model$",
        prices={
            "input": 0.000001,
            "output": 0.000002,
            "input_cached_tokens": 0.0000005,
        },
    )


def test_a_traced_generation_ends_with_its_cost_and_prompt_version(
    sdk5, prompts, e2e_model_price, worker, read_api
):
    result = sdk5(
        "traced_generation",
        name=QUIZ,
        label="staging",
        model="e2e-model",
        usage={"input": 1000, "output": 200, "input_cached_tokens": 400},
    )

    def generation_view():
        response = read_api.get(f"/api/public/observations/{result['observation_id']}")
        return response.json() if response.status_code == 200 else None

    view = wait_for(generation_view)
    # 1000 x $1/M + 200 x $2/M + 400 cached x $0.5/M
    assert Decimal(str(view["calculatedTotalCost"])) == Decimal("0.0016")
    assert view["type"] == "GENERATION"
    assert view["traceId"] == result["trace_id"]
    assert view["model"] == "e2e-model"
    assert view["promptName"] == QUIZ
    assert view["promptVersion"] == 2
    assert view["usageDetails"]["input_cached_tokens"] == 400
    observation = Observation.objects.get(observation_id=result["observation_id"])
    assert observation.total_cost == Decimal("0.0016")
    assert observation.price_source == "project"
    assert observation.prompt_version == prompts.versions.get(number=2)
    trace = Trace.objects.get(trace_id=result["trace_id"])
    assert (trace.user_id, trace.session_id) == ("e2e-user", "e2e-session")
    assert trace.name == "quiz"
