"""POST /api/public/ingestion: the 2.x batch API (and 3.x/4.x scores)."""

import copy
import gzip
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


# Usage, cost and time checks ----------------------------------------------

START = "2026-12-03T18:00:00Z"
BAD_VALUES = [
    ({"usageDetails": {"input": "ten"}}, "body.usageDetails.input", "'ten'"),
    ({"usageDetails": {"input": 1.5}}, "body.usageDetails.input", "whole number"),
    ({"usageDetails": {"output": -4}}, "body.usageDetails.output", "negative"),
    ({"usageDetails": {"input": True}}, "body.usageDetails.input", "got True"),
    ({"usageDetails": {"input": 10**12 + 1}}, "body.usageDetails.input", "10**12"),
    ({"usageDetails": {"input": "NaN"}}, "body.usageDetails.input", "'NaN'"),
    (
        {"usageDetails": {"prompt_tokens": 5, "completion_tokens": "many"}},
        "body.usageDetails.completion_tokens",
        "'many'",
    ),
    ({"usage": {"input": "ten"}}, "body.usage.input", "non-negative integer"),
    ({"usage": {"totalCost": "NaN"}}, "body.usage.totalCost", "finite"),
    ({"usage": {"inputCost": -0.5}}, "body.usage.inputCost", "negative"),
    ({"costDetails": {"input": "NaN"}}, "body.costDetails.input", "finite"),
    ({"costDetails": {"input": "Infinity"}}, "body.costDetails.input", "finite"),
    ({"costDetails": {"total": -1}}, "body.costDetails.total", "negative"),
    ({"costDetails": {"input": "cheap"}}, "body.costDetails.input", "'cheap'"),
    ({"costDetails": {"input": False}}, "body.costDetails.input", "got False"),
    ({"costDetails": {"input": 2_000_000}}, "body.costDetails.input", "1000000"),
    (
        {"costDetails": {f"k{n}": 400_000 for n in range(3)}},
        "body.costDetails",
        "add up to more than 1000000 USD",
    ),
    (
        {"endTime": "2026-12-03T17:59:58Z"},
        "body.endTime",
        "2026-12-03T17:59:58+00:00 is before body.startTime",
    ),
    (
        {"completionStartTime": "2026-12-03T17:00:00Z"},
        "body.completionStartTime",
        "is before body.startTime (2026-12-03T18:00:00+00:00)",
    ),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_VALUES)
def test_bad_usage_cost_or_times_reject_only_that_event(
    post_json, project, change, field, reason
):
    good = event("generation-create", {"id": "good", "startTime": START}, event_id="a")
    bad = event(
        "generation-create", {"id": "bad", "startTime": START, **change}, event_id="b"
    )

    response = post_json(URL, {"batch": [good, bad]})

    assert response.status_code == 207
    body = response.json()
    assert body["successes"] == [{"id": "a", "status": 201}]
    [error] = body["errors"]
    assert (error["id"], error["status"]) == ("b", 400)
    assert error["message"].startswith(f"Invalid event: {field}: ")
    assert reason in error["message"]
    assert list(Observation.objects.values_list("observation_id", flat=True)) == [
        "good"
    ]


def test_numeric_strings_nulls_nested_parts_and_the_largest_count_are_accepted(
    post_json, project
):
    body = {
        "id": "g",
        "startTime": START,
        # Within a second of the start: SDK and caller clocks disagree a little.
        "completionStartTime": "2026-12-03T17:59:59.5Z",
        "endTime": START,
        # Nested parts, as the 2.x LangChain handler passes them, are skipped.
        "usageDetails": {
            "input": "12",
            "output": 5.0,
            "reasoning": None,
            "cache_creation": {"ephemeral_5m_input_tokens": 3},
        },
        "costDetails": {"input": "0.25", "output": 1, "cache": None},
    }
    big = {"id": "big", "startTime": START, "usageDetails": {"input": 10**12}}

    response = post_json(
        URL,
        {
            "batch": [
                event("generation-create", body),
                event("generation-create", big, event_id="e2"),
            ]
        },
    )

    assert response.json()["errors"] == []
    generation = Observation.objects.get(observation_id="g")
    assert generation.provided_usage_details == {"input": 12, "output": 5}
    assert generation.provided_cost_details == {"input": "0.25", "output": "1"}
    assert generation.total_cost == Decimal("1.25")
    assert Observation.objects.get(observation_id="big").usage_details == {
        "input": 10**12,
        "total": 10**12,
    }


def test_a_priced_cost_too_large_to_store_leaves_the_call_unpriced(post_json, project):
    # 10**12 tokens of a $150/M-input, $600/M-output model: $750M, over the
    # column's 10**8. Stored, it would fail the whole batch.
    huge = {
        "id": "huge",
        "startTime": START,
        "model": "o1-pro",
        "usageDetails": {"input": 10**12, "output": 10**12},
    }
    small = {"id": "small", "startTime": START}

    response = post_json(
        URL,
        {
            "batch": [
                event("generation-create", huge),
                event("generation-create", small, event_id="e2"),
            ]
        },
    )

    assert response.json()["errors"] == []
    batch = IngestionBatch.objects.get()
    assert batch.processed_at is not None
    assert batch.last_error == ""
    generation = Observation.objects.get(observation_id="huge")
    assert generation.total_cost is None
    assert generation.price_source == "unknown"
    assert generation.usage_details["input"] == 10**12
    assert Observation.objects.filter(observation_id="small").exists()


# Compressed bodies ----------------------------------------------------------


def test_a_gzip_body_is_decompressed(api, project, django_capture_on_commit_callbacks):
    batch = {"batch": [event("trace-create", {"id": "zipped", "name": "gz"})]}

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            URL,
            data=gzip.compress(json.dumps(batch).encode()),
            content_type="application/json",
            HTTP_CONTENT_ENCODING="gzip",
        )

    assert response.status_code == 207
    assert response.json()["successes"] == [{"id": "e1", "status": 201}]
    assert Trace.objects.get(trace_id="zipped").name == "gz"


def test_a_truncated_gzip_body_is_a_400_naming_the_body(api, db):
    batch = {"batch": [event("trace-create", {"id": "t", "input": "x" * 500})]}
    payload = gzip.compress(json.dumps(batch).encode())[:-20]

    response = api.post(
        URL, data=payload, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert response.status_code == 400
    assert response.json()["message"] == "body: the gzip stream is truncated"
    assert IngestionBatch.objects.count() == 0


def test_a_gzip_bomb_is_a_413(api, settings, db):
    settings.INGESTION_MAX_BODY_BYTES = 10_000
    bomb = gzip.compress(b" " * 1_000_000)

    response = api.post(
        URL, data=bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert response.status_code == 413
    assert response.json()["message"].startswith("body: decompresses to more than")
    assert IngestionBatch.objects.count() == 0


def test_an_unknown_content_encoding_is_a_415(api, db):
    response = api.post(
        URL, data=b"{}", content_type="application/json", HTTP_CONTENT_ENCODING="br"
    )

    assert response.status_code == 415
    assert "Content-Encoding" in response.json()["message"]
