"""POST /api/public/otel/v1/traces: OTLP/HTTP from the 3.x-5.x SDKs and LiteLLM."""

import base64
import gzip
import json
from decimal import Decimal

import pytest
from django.test import Client
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from prompts.models import Prompt, PromptVersion
from tracing.models import IngestionBatch, Observation, Trace

from .captured import (
    RESOURCE_5X,
    RESOURCE_5X_ENV,
    SPANS_3X,
    SPANS_5X,
    SPANS_5X_ENV,
    SPANS_LITELLM,
    TRACE_3X,
    TRACE_5X,
    TRACE_5X_ENV,
    TRACE_LITELLM,
)
from .conftest import export, gzipped

URL = "/api/public/otel/v1/traces"
GZIP = {"HTTP_CONTENT_ENCODING": "gzip"}
V5 = {"HTTP_X_LANGFUSE_SDK_VERSION": "5.0.4", "HTTP_X_LANGFUSE_INGESTION_VERSION": "4"}


@pytest.fixture
def greeting(project):
    prompt = Prompt.objects.create(project=project, name="greeting", type="text")
    return PromptVersion.objects.create(prompt=prompt, number=1, content="Hi")


def test_the_captured_5x_export_maps_trace_and_observations(
    post_otel, project, greeting
):
    request = export(SPANS_5X, resource=RESOURCE_5X)

    response = post_otel(gzipped(request), **GZIP, **V5)

    assert response.status_code == 200
    assert response.json() == {}
    trace = Trace.objects.get(project=project, trace_id=TRACE_5X)
    assert trace.name == "my-trace"
    assert (trace.user_id, trace.session_id, trace.version) == (
        "user-42",
        "sess-7",
        "1.2.3",
    )
    assert trace.tags == ["t-a", "t-b"]
    # 5.x JSON-encodes each flattened metadata value.
    assert trace.metadata["tenant"] == "acme"
    assert trace.metadata["n"] == 3
    assert trace.metadata["scope"] == {"name": "langfuse-sdk", "version": "5.0.4"}
    assert trace.input == {"q": "hello"}
    assert trace.output == {"answer": "hi!"}
    assert trace.timestamp.isoformat() == "2026-12-03T18:13:18.258417+00:00"
    root = Observation.objects.get(observation_id="1549d1ac71497bdb")
    assert root.type == "SPAN"
    assert root.parent_observation_id is None
    assert (root.level, root.status_message) == ("WARNING", "demo")
    generation = Observation.objects.get(observation_id="4b376ed2386e217e")
    assert generation.type == "GENERATION"
    assert generation.parent_observation_id == "1549d1ac71497bdb"
    assert generation.trace_id == TRACE_5X
    assert generation.model == "gpt-4o-mini"
    assert generation.model_parameters == {"temperature": 0.2, "max_tokens": 100}
    assert generation.input == [{"role": "user", "content": "hello"}]
    assert generation.output == {"role": "assistant", "content": "hi!"}
    assert generation.metadata == {"k": "v"}
    assert generation.usage_details == {
        "input": 12,
        "output": 5,
        "input_cached_tokens": 3,
        "output_reasoning_tokens": 1,
        "total": 21,
    }
    assert generation.total_cost == Decimal("0.0003")
    assert generation.price_source == "reported"
    assert generation.prompt_version == greeting
    assert generation.start_time.isoformat() == "2026-12-03T18:13:18.259782+00:00"
    event = Observation.objects.get(observation_id="26975a70f7d8ec24")
    assert event.type == "EVENT"
    assert event.input == {"key": "abc"}
    batch = IngestionBatch.objects.get()
    assert batch.event_count == 3
    assert bytes(batch.payload) == request.SerializeToString()


def test_environment_release_and_agent_types_from_5x(post_otel, project):
    post_otel(export(SPANS_5X_ENV, resource=RESOURCE_5X_ENV).SerializeToString(), **V5)

    trace = Trace.objects.get(trace_id=TRACE_5X_ENV)
    assert (trace.environment, trace.release, trace.name) == (
        "staging",
        "rel-9",
        "agent-root",
    )
    types = dict(Observation.objects.values_list("name", "type"))
    assert types == {
        "decorated-gen": "GENERATION",
        "search-tool": "TOOL",
        "agent-root": "AGENT",
    }
    tool = Observation.objects.get(name="search-tool")
    assert (tool.input, tool.output, tool.environment) == ("q", "r", "staging")
    generation = Observation.objects.get(name="decorated-gen")
    # claude-3-5-sonnet from genai-prices: 5 x $3/M + 7 x $15/M
    assert generation.total_cost == Decimal("0.00012")
    assert generation.price_source == "public"
    assert generation.output == 42


def test_3x_sends_plain_metadata_and_no_ingestion_version(post_otel, project, greeting):
    payload = export(SPANS_3X, resource=RESOURCE_5X, scope_version="3.14.6")

    response = post_otel(
        payload.SerializeToString(), HTTP_X_LANGFUSE_SDK_VERSION="3.14.6"
    )

    assert response.status_code == 200
    trace = Trace.objects.get(trace_id=TRACE_3X)
    assert trace.metadata["tenant"] == "acme"
    assert trace.tags == ["t"]
    assert (trace.user_id, trace.name) == ("user-42", "root")
    generation = Observation.objects.get(observation_id="7f26a0fe1f47536d")
    assert generation.total_cost == Decimal("0.001")
    assert generation.cost_details == {"total": "0.001"}
    assert generation.prompt_version == greeting


def test_litellm_export_with_quoted_completion_start_and_no_resource(
    post_otel, project
):
    payload = export(SPANS_LITELLM, scope_version="")

    response = post_otel(
        payload.SerializeToString(), HTTP_X_LANGFUSE_SDK_VERSION="4.18.0"
    )

    assert response.status_code == 200
    trace = Trace.objects.get(trace_id=TRACE_LITELLM)
    assert (trace.name, trace.user_id, trace.tags) == ("ll-trace", "user-42", ["ll"])
    generation = Observation.objects.get(observation_id="a254701c47dd0e82")
    assert generation.completion_start_time.isoformat() == (
        "2026-12-03T18:19:51.789837+00:00"
    )
    assert generation.total_cost == Decimal("0.0000135")
    assert generation.usage_details["total"] == 30
    # 4.x metadata values are kept as sent.
    assert generation.metadata["requester_metadata"] == "{}"
    assert generation.metadata["cache_hit"] is False


def test_otlp_json_with_hex_ids_is_accepted(post_otel, project):
    document = json_format.MessageToDict(export(SPANS_3X))
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in span:
                span[key] = __import__("base64").b64decode(span[key]).hex()

    response = post_otel(json.dumps(document), content_type="application/json")

    assert response.status_code == 200
    assert (
        Observation.objects.get(observation_id="7f26a0fe1f47536d").trace_id == TRACE_3X
    )


def test_prompt_link_only_applies_to_generations(post_otel, project, greeting):
    span = {
        "name": "plain",
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "start": 1796321598258417811,
        "attributes": {
            "langfuse.observation.type": "span",
            "langfuse.observation.prompt.name": "greeting",
            "langfuse.observation.prompt.version": 1,
        },
    }

    post_otel(export([span]).SerializeToString())

    observation = Observation.objects.get(observation_id="b" * 16)
    assert observation.prompt_version is None
    assert observation.prompt_name is None


def test_genai_usage_is_normalised_with_cache_and_reasoning_subtracted(post_otel, db):
    span = {
        "name": "chat gpt-4o",
        "trace_id": "c" * 32,
        "span_id": "d" * 16,
        "start": 1796321598258417811,
        "status_code": 2,
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.request.temperature": 0.5,
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.cache_read_input_tokens": 40,
            "gen_ai.usage.output_tokens": 30,
            "gen_ai.usage.reasoning_tokens": 10,
        },
    }

    post_otel(export([span], scope_name="openai-instrumentation").SerializeToString())

    observation = Observation.objects.get(observation_id="d" * 16)
    assert observation.type == "GENERATION"
    assert observation.level == "ERROR"
    assert observation.model_parameters == {"temperature": 0.5}
    assert observation.usage_details == {
        "input": 60,
        "input_cached_tokens": 40,
        "output": 20,
        "output_reasoning_tokens": 10,
        "total": 130,
    }
    assert observation.metadata["attributes"]["gen_ai.request.model"] == "gpt-4o"
    # gpt-4o: 60 x $2.5/M + 40 x $1.25/M + 30 x $10/M
    assert observation.total_cost == Decimal("0.0005")


def test_a_child_span_alone_makes_a_thin_trace(post_otel, project):
    span = {
        "name": "child",
        "trace_id": "e" * 32,
        "span_id": "f" * 16,
        "parent_span_id": "1" * 16,
        "start": 1796321598258417811,
        "attributes": {"langfuse.environment": "prod"},
    }

    post_otel(export([span]).SerializeToString())

    trace = Trace.objects.get(trace_id="e" * 32)
    assert trace.name is None
    assert trace.environment == "prod"
    assert trace.timestamp.isoformat() == "2026-12-03T18:13:18.258417+00:00"


def test_the_root_arriving_later_fills_the_thin_trace(post_otel, project):
    children, root = SPANS_5X[:2], SPANS_5X[2]
    post_otel(export(children).SerializeToString(), **V5)
    post_otel(export([root]).SerializeToString(), **V5)

    trace = Trace.objects.get(trace_id=TRACE_5X)
    assert trace.name == "my-trace"
    assert trace.output == {"answer": "hi!"}
    assert trace.timestamp.isoformat() == "2026-12-03T18:13:18.258417+00:00"
    assert Observation.objects.filter(trace_id=TRACE_5X).count() == 3


def test_the_same_export_twice_changes_nothing(post_otel, project):
    payload = export(SPANS_5X, resource=RESOURCE_5X).SerializeToString()
    post_otel(payload, **V5)
    before = list(Observation.objects.values().order_by("observation_id"))
    trace_before = Trace.objects.values().get()

    post_otel(payload, **V5)

    after = list(Observation.objects.values().order_by("observation_id"))
    trace_after = Trace.objects.values().get()
    for row in before + after + [trace_before, trace_after]:
        row.pop("updated_at")
    assert after == before
    assert trace_after == trace_before
    assert IngestionBatch.objects.filter(processed_at__isnull=False).count() == 2


def test_truncated_gzip_is_a_400_naming_the_body(api, db):
    payload = gzipped(export(SPANS_5X))[:-20]

    response = api.post(
        URL, data=payload, content_type="application/x-protobuf", **GZIP
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("body:")
    assert IngestionBatch.objects.count() == 0


def test_garbage_claiming_gzip_is_a_400(api, db):
    response = api.post(
        URL, data=b"not gzip at all", content_type="application/x-protobuf", **GZIP
    )

    assert response.status_code == 400
    assert "gzip" in response.json()["message"]


def test_a_decompression_bomb_is_a_413(api, settings, db):
    settings.OTEL_MAX_BODY_BYTES = 10_000
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000

    response = api.post(URL, data=bomb, content_type="application/x-protobuf", **GZIP)

    assert response.status_code == 413
    assert IngestionBatch.objects.count() == 0


def test_a_body_over_the_limit_is_a_413(api, settings, db):
    settings.OTEL_MAX_BODY_BYTES = 100
    payload = export(SPANS_5X).SerializeToString()

    response = api.post(URL, data=payload, content_type="application/x-protobuf")

    assert response.status_code == 413
    assert IngestionBatch.objects.count() == 0


def test_corrupt_protobuf_is_a_400(api, db):
    response = api.post(
        URL, data=b"\xff\xff\xff", content_type="application/x-protobuf"
    )

    assert response.status_code == 400
    assert "protobuf" in response.json()["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_other_content_types_are_refused(api, db, content_type):
    response = api.post(URL, data=b"x", content_type=content_type)

    assert response.status_code == 415
    assert "Content-Type" in response.json()["message"]


def test_an_ingestion_version_above_4_is_a_400(api, db):
    response = api.post(
        URL,
        data=export(SPANS_5X).SerializeToString(),
        content_type="application/x-protobuf",
        HTTP_X_LANGFUSE_INGESTION_VERSION="5",
    )

    assert response.status_code == 400
    assert "x-langfuse-ingestion-version" in response.json()["message"]
    assert IngestionBatch.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("trace_id", "00" * 16), ("span_id", "00" * 8), ("trace_id", "ab" * 8)],
)
def test_one_span_without_valid_ids_rejects_the_whole_export(api, db, field, value):
    spans = [dict(SPANS_5X[0]), dict(SPANS_5X[1], **{field: value})]

    response = api.post(
        URL,
        data=export(spans).SerializeToString(),
        content_type="application/x-protobuf",
    )

    assert response.status_code == 400
    assert field.replace("_id", "Id") in response.json()["message"]
    assert IngestionBatch.objects.count() == 0
    assert Observation.objects.count() == 0


def test_bad_hex_in_otlp_json_is_a_400(api, db):
    document = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "1" * 16}]}]}
        ]
    }

    response = api.post(URL, data=json.dumps(document), content_type="application/json")

    assert response.status_code == 400
    assert "traceId" in response.json()["message"]


def test_no_key_is_a_401(db):
    response = Client().post(
        URL,
        data=export(SPANS_5X).SerializeToString(),
        content_type="application/x-protobuf",
    )

    assert response.status_code == 401
    assert IngestionBatch.objects.count() == 0


def test_spans_land_in_the_key_s_own_project(
    post_otel, other_api, project, other_project
):
    post_otel(export(SPANS_5X).SerializeToString(), client=other_api)

    assert Trace.objects.filter(project=project).count() == 0
    assert Observation.objects.filter(project=other_project).count() == 3


# Bad usage and cost attributes ----------------------------------------------


def usage_span(attributes, *, span_id="d" * 16, name="chat gpt-4o"):
    return {
        "name": name,
        "trace_id": "c" * 32,
        "span_id": span_id,
        "start": 1796321598258417811,
        "attributes": {"gen_ai.request.model": "gpt-4o", **attributes},
    }


def test_bad_token_counts_are_dropped_and_named_in_a_partial_success(
    post_otel, project
):
    span = usage_span(
        {
            "gen_ai.usage.input_tokens": -5,
            "gen_ai.usage.output_tokens": 7,
            "gen_ai.usage.reasoning_tokens": 1.5,
            "gen_ai.usage.cache_read_input_tokens": "ten",
        }
    )
    clean = usage_span({"gen_ai.usage.input_tokens": 3}, span_id="e" * 16)

    response = post_otel(export([span, clean]).SerializeToString())

    # All spans kept: OTLP's way to warn is rejected_spans 0 with a message,
    # in the request's encoding.
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 0
    message = answer.partial_success.error_message
    head, _, listed = message.partition(": ")
    assert head == "Dropped invalid usage or cost attributes (spans kept)"
    span_name = f"span {'d' * 16} ('chat gpt-4o')"
    assert listed.split("; ") == [
        f"{span_name}: gen_ai.usage.input_tokens: "
        "token counts must not be negative, got -5",
        f"{span_name}: gen_ai.usage.cache_read_input_tokens: "
        "must be a non-negative integer, got 'ten'",
        f"{span_name}: gen_ai.usage.reasoning_tokens: "
        "must be a whole number of tokens, got 1.5",
    ]
    assert "e" * 16 not in message
    observation = Observation.objects.get(observation_id="d" * 16)
    assert observation.provided_usage_details == {"output": 7}
    assert observation.usage_details == {"output": 7, "total": 7}
    assert Observation.objects.get(observation_id="e" * 16).usage_details == {
        "input": 3,
        "total": 3,
    }


def test_bad_usage_and_cost_details_warn_in_otlp_json(post_otel, project):
    span = usage_span(
        {
            "langfuse.observation.usage_details": '{"input": -1, "output": 3}',
            "langfuse.observation.cost_details": '{"input": "NaN", "output": 0.5}',
        }
    )
    document = json_format.MessageToDict(export([span]))
    for item in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId"):
            item[key] = base64.b64decode(item[key]).hex()

    response = post_otel(json.dumps(document), content_type="application/json")

    assert response.status_code == 200
    answer = response.json()
    assert list(answer) == ["partialSuccess"]
    problems = answer["partialSuccess"]["errorMessage"].split("; ")
    assert problems[0].endswith(
        "langfuse.observation.usage_details.input: "
        "token counts must not be negative, got -1"
    )
    assert problems[1].endswith(
        "langfuse.observation.cost_details.input: "
        "must be a finite non-negative number, got 'NaN'"
    )
    observation = Observation.objects.get(observation_id="d" * 16)
    assert observation.provided_usage_details == {"output": 3}
    assert observation.provided_cost_details == {"output": "0.5"}


def test_a_usage_attribute_that_is_not_an_object_is_named(post_otel, project):
    span = usage_span(
        {
            "langfuse.observation.usage_details": "lots",
            "gen_ai.usage.output_tokens": 4,
        }
    )

    response = post_otel(export([span]).SerializeToString())

    answer = ExportTraceServiceResponse.FromString(response.content)
    assert "langfuse.observation.usage_details: must be a JSON object, got 'lots'" in (
        answer.partial_success.error_message
    )
    assert Observation.objects.get().provided_usage_details == {"output": 4}


def test_many_warnings_are_summarised(post_otel, project):
    spans = [
        usage_span({"gen_ai.usage.input_tokens": -1}, span_id=f"{n:016x}")
        for n in range(1, 15)
    ]

    response = post_otel(export(spans).SerializeToString())

    message = ExportTraceServiceResponse.FromString(
        response.content
    ).partial_success.error_message
    assert message.count("gen_ai.usage.input_tokens") == 10
    assert message.endswith("; and 4 more")
    assert Observation.objects.count() == 14
