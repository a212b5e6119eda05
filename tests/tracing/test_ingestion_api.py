"""POST /api/public/ingestion: the 2.x batch API (and 3.x/4.x scores)."""

import copy
import json
from decimal import Decimal

import pytest
from django.test import Client

from prompts.models import Prompt, PromptVersion
from tracing.models import IngestionBatch, Observation, ProcessedEvent, Score, Trace

from .captured import BATCH_2X, GENERATION_2X, SCORE_BATCH_3X, TRACE_2X

URL = "/api/public/ingestion"


def event(event_type, body, *, event_id="e1", timestamp="2026-12-03T18:00:00Z"):
    return {"id": event_id, "type": event_type, "timestamp": timestamp, "body": body}


@pytest.fixture
def greeting(project):
    prompt = Prompt.objects.create(project=project, name="greeting", type="text")
    return PromptVersion.objects.create(prompt=prompt, number=1, content="Hi")


def test_the_captured_2x_batch_becomes_traces_observations_and_scores(
    post_json, project, greeting
):
    response = post_json(URL, BATCH_2X)

    assert response.status_code == 207
    body = response.json()
    assert body["errors"] == []
    assert [s["id"] for s in body["successes"]] == [e["id"] for e in BATCH_2X["batch"]]
    assert {s["status"] for s in body["successes"]} == {201}
    trace = Trace.objects.get(project=project, trace_id=TRACE_2X)
    assert trace.name == "my-trace"
    assert (trace.user_id, trace.session_id) == ("user-42", "sess-7")
    assert (trace.release, trace.version) == ("rel-1", "1.2.3")
    assert trace.input == {"q": "hello"}
    # The second trace-create only carries the output: it merges, not wipes.
    assert trace.output == "done"
    assert trace.metadata == {"tenant": "acme"}
    assert trace.tags == ["t-a"]
    span = Observation.objects.get(
        observation_id="2152fe8e-55d4-485a-9d65-b389197f7726"
    )
    assert span.type == "SPAN"
    assert span.output == {"docs": 2}
    assert span.end_time.isoformat() == "2026-12-03T18:16:59.454446+00:00"
    generation = Observation.objects.get(observation_id=GENERATION_2X)
    assert generation.type == "GENERATION"
    assert generation.model_parameters == {"temperature": "0.2", "max_tokens": 100}
    assert generation.usage_details == {
        "input": 12,
        "output": 5,
        "input_cached_tokens": 3,
        "total": 20,
    }
    assert generation.price_source == "reported"
    assert generation.total_cost == Decimal("0.0003")
    assert generation.prompt_version == greeting
    assert (generation.prompt_name, generation.prompt_version_number) == ("greeting", 1)
    priced = Observation.objects.get(
        observation_id="0b7cb8f2-4b55-4d3c-9a55-5a1f0f0e2a11"
    )
    # gpt-4o-mini from genai-prices: 800 x $0.15/M + 100 x $0.60/M
    assert priced.total_cost == Decimal("0.00018")
    assert priced.price_source == "public"
    event_row = Observation.objects.get(
        observation_id="8e1d2c3b-4a59-4687-9f0e-1d2c3b4a5968"
    )
    assert event_row.type == "EVENT"
    scores = {s.score_id: s for s in Score.objects.filter(project=project)}
    assert scores["score-2x-1"].value == 0.9
    assert scores["score-2x-1"].data_type == "NUMERIC"
    assert scores["score-2x-2"].string_value == "ok"
    batch = IngestionBatch.objects.get()
    assert batch.processed_at is not None
    assert batch.event_count == 11
    assert ProcessedEvent.objects.filter(project=project).count() == 11


def test_the_3x_score_batch_is_accepted(post_json, project):
    response = post_json(URL, SCORE_BATCH_3X)

    assert response.status_code == 207
    assert response.json() == {
        "successes": [{"id": "b39e3949eed379009c2e8bd7f0371606", "status": 201}],
        "errors": [],
    }
    score = Score.objects.get(project=project)
    assert (score.score_id, score.name, score.value) == (
        "7514f0b5576828df",
        "quality",
        0.8,
    )
    assert score.timestamp.isoformat() == "2026-12-03T18:18:05.551991+00:00"


BAD_EVENTS = [
    (event("trace-create", {"id": "t"}, timestamp="2026-12-03T18:00:00"), "timestamp"),
    (
        event("span-create", {"id": "s", "startTime": "2026-12-03T18:00:00"}),
        "body.startTime",
    ),
    (event("nonsense-create", {"id": "x"}), "type"),
    ({"type": "trace-create", "timestamp": "2026-12-03T18:00:00Z", "body": {}}, "id"),
    (event("trace-create", "not an object"), "body"),
    (event("span-update", {"traceId": "t"}), "body.id"),
    (
        event("generation-create", {"id": "g", "usageDetails": {"input": -3}}),
        "body.usageDetails.input",
    ),
    (
        event("generation-create", {"id": "g", "usage": {"output": -1}}),
        "body.usage.output",
    ),
    (
        event("generation-create", {"id": "g", "promptName": "greeting"}),
        "promptVersion",
    ),
    (event("span-create", {"id": "s", "level": "LOUD"}), "body.level"),
    (event("trace-create", {"id": "t", "tags": "a,b"}), "body.tags"),
    (event("score-create", {"traceId": "t", "name": "q", "value": [1]}), "body.value"),
    (
        event(
            "score-create",
            {"traceId": "t", "name": "q", "value": 2, "dataType": "BOOLEAN"},
        ),
        "body.value",
    ),
    (
        event(
            "score-create",
            {"traceId": "t", "name": "q", "value": 0.5, "dataType": "CATEGORICAL"},
        ),
        "body.value",
    ),
    (event("score-create", {"traceId": "t", "value": 1}), "body.name"),
    (event("score-create", {"name": "q", "value": 1}), "body.traceId"),
    (event("dataset-run-item-create", {"id": "d"}), "type"),
    (event("trace-create", {"id": "t", "userId": 42}), "body.userId"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_EVENTS)
def test_only_the_malformed_event_is_rejected_naming_the_field(
    post_json, project, bad, field
):
    good = event("trace-create", {"id": "good-trace", "name": "ok"}, event_id="good")
    bad = {**bad, "id": "bad"} if "id" in bad else bad

    response = post_json(URL, {"batch": [good, bad]})

    assert response.status_code == 207
    body = response.json()
    assert body["successes"] == [{"id": "good", "status": 201}]
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["status"] == 400
    assert error["id"] == ("bad" if "id" in bad else "unknown")
    assert field in error["message"]
    assert list(Trace.objects.values_list("trace_id", flat=True)) == ["good-trace"]
    assert IngestionBatch.objects.get().event_count == 1


def test_sdk_log_events_are_accepted_and_dropped(post_json, project):
    response = post_json(URL, {"batch": [event("sdk-log", {"log": {"mem": 1}})]})

    assert response.status_code == 207
    assert response.json() == {"successes": [{"id": "e1", "status": 201}], "errors": []}
    assert IngestionBatch.objects.count() == 0


@pytest.mark.parametrize("body", [[], {"events": []}, {"batch": {}}, "batch"])
def test_a_body_that_is_not_a_batch_is_a_400(post_json, body):
    response = post_json(URL, body)

    assert response.status_code == 400
    assert "batch" in response.json()["message"]
    assert IngestionBatch.objects.count() == 0


def test_invalid_json_is_a_400(api, db):
    response = api.post(URL, data=b"{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["message"] == "body: not valid JSON"


def test_a_body_over_the_limit_is_a_413(api, settings, db):
    settings.INGESTION_MAX_BODY_BYTES = 1000
    big = {"batch": [event("trace-create", {"id": "t", "input": "x" * 2000})]}

    response = api.post(URL, data=json.dumps(big), content_type="application/json")

    assert response.status_code == 413
    assert "1000" in response.json()["message"]
    assert IngestionBatch.objects.count() == 0


def test_a_body_bigger_than_its_content_length_claims_is_a_413(api, settings, db):
    settings.INGESTION_MAX_BODY_BYTES = 1000
    body = json.dumps({"batch": [event("trace-create", {"input": "x" * 2000})]})

    response = api.generic(
        "POST", URL, data=body, content_type="application/json", CONTENT_LENGTH="10"
    )

    assert response.status_code in (400, 413)
    assert IngestionBatch.objects.count() == 0


def test_no_key_is_a_401(db):
    response = Client().post(URL, data="{}", content_type="application/json")

    assert response.status_code == 401
    assert IngestionBatch.objects.count() == 0


def test_a_wrong_secret_is_a_401(api, db):
    wrong = Client(HTTP_AUTHORIZATION="Basic cGstbGYteDpzay1sZi15")
    response = wrong.post(
        URL, data=json.dumps(SCORE_BATCH_3X), content_type="application/json"
    )

    assert response.status_code == 401
    assert Score.objects.count() == 0


def test_events_land_in_the_key_s_own_project(
    post_json, other_api, project, other_project
):
    post_json(URL, BATCH_2X, client=other_api)

    assert Trace.objects.filter(project=project).count() == 0
    assert Trace.objects.get(project=other_project).trace_id == TRACE_2X


def test_a_resent_batch_changes_nothing(post_json, project):
    post_json(URL, BATCH_2X)
    before = list(Observation.objects.values().order_by("observation_id"))

    resent = post_json(URL, copy.deepcopy(BATCH_2X))

    assert resent.status_code == 207
    after = list(Observation.objects.values().order_by("observation_id"))
    for row in before + after:
        row.pop("updated_at")
    assert after == before
    assert Trace.objects.count() == 1
    assert Score.objects.count() == 2
    assert IngestionBatch.objects.filter(processed_at__isnull=True).count() == 0
