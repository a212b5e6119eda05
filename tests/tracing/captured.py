"""Bodies as real clients sent them (langfuse-sdk-requests.log), as test data.

The 2.x batch is cut at 2 KB in the log; its tail (the second generation and
the event and scores the client script sent) is rebuilt in the same shape.
"""

TRACE_5X = "765f1f723107fcdf4c24a7f8efd7155f"

SPANS_5X = [
    {
        "name": "llm-call",
        "trace_id": TRACE_5X,
        "span_id": "4b376ed2386e217e",
        "parent_span_id": "1549d1ac71497bdb",
        "start": 1796321598259782471,
        "end": 1796321598260454291,
        "attributes": {
            "user.id": "user-42",
            "session.id": "sess-7",
            "langfuse.trace.metadata.tenant": '"acme"',
            "langfuse.trace.metadata.n": "3",
            "langfuse.version": "1.2.3",
            "langfuse.trace.tags": ["t-a", "t-b"],
            "langfuse.trace.name": "my-trace",
            "langfuse.observation.input": '[{"role": "user", "content": "hello"}]',
            "langfuse.observation.model.name": "gpt-4o-mini",
            "langfuse.observation.prompt.name": "greeting",
            "langfuse.observation.prompt.version": "1",
            "langfuse.observation.model.parameters": (
                '{"temperature": 0.2, "max_tokens": 100}'
            ),
            "langfuse.observation.type": "generation",
            "langfuse.observation.output": '{"role": "assistant", "content": "hi!"}',
            "langfuse.observation.usage_details": (
                '{"input": 12, "output": 5, "input_cached_tokens": 3, '
                '"output_reasoning_tokens": 1}'
            ),
            "langfuse.observation.cost_details": '{"input": 0.0001, "output": 0.0002}',
            "langfuse.observation.metadata.k": '"v"',
        },
    },
    {
        "name": "cache-miss",
        "trace_id": TRACE_5X,
        "span_id": "26975a70f7d8ec24",
        "parent_span_id": "1549d1ac71497bdb",
        "start": 1796321598260715862,
        "end": 1796321598260715862,
        "attributes": {
            "user.id": "user-42",
            "session.id": "sess-7",
            "langfuse.trace.metadata.tenant": '"acme"',
            "langfuse.trace.metadata.n": "3",
            "langfuse.version": "1.2.3",
            "langfuse.trace.tags": ["t-a", "t-b"],
            "langfuse.trace.name": "my-trace",
            "langfuse.observation.type": "event",
            "langfuse.observation.input": '{"key": "abc"}',
        },
    },
    {
        "name": "handle-request",
        "trace_id": TRACE_5X,
        "span_id": "1549d1ac71497bdb",
        "start": 1796321598258417811,
        "end": 1796321598261773225,
        "attributes": {
            "langfuse.internal.is_app_root": True,
            "langfuse.observation.input": '{"q": "hello"}',
            "user.id": "user-42",
            "session.id": "sess-7",
            "langfuse.version": "1.2.3",
            "langfuse.trace.tags": ["t-a", "t-b"],
            "langfuse.trace.name": "my-trace",
            "langfuse.trace.metadata.tenant": '"acme"',
            "langfuse.trace.metadata.n": "3",
            "langfuse.observation.type": "span",
            "langfuse.observation.level": "WARNING",
            "langfuse.observation.status_message": "demo",
            "langfuse.observation.output": '{"answer": "hi!"}',
        },
    },
]
RESOURCE_5X = {
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.45.2",
    "service.name": "unknown_service:python",
}

TRACE_5X_ENV = "ff05e921b7fd29da22d83a595307eaba"
RESOURCE_5X_ENV = {
    **RESOURCE_5X,
    "langfuse.environment": "staging",
    "langfuse.release": "rel-9",
}
SPANS_5X_ENV = [
    {
        "name": "decorated-gen",
        "trace_id": TRACE_5X_ENV,
        "span_id": "8d4103e17e061d5a",
        "parent_span_id": "161588887af434eb",
        "start": 1796322050344683145,
        "end": 1796322050345340709,
        "attributes": {
            "langfuse.observation.input": '{"args": [21], "kwargs": {}}',
            "langfuse.environment": "staging",
            "langfuse.release": "rel-9",
            "langfuse.observation.model.name": "claude-3-5-sonnet",
            "langfuse.observation.usage_details": '{"input": 5, "output": 7}',
            "langfuse.observation.type": "generation",
            "langfuse.observation.output": "42",
        },
    },
    {
        "name": "search-tool",
        "trace_id": TRACE_5X_ENV,
        "span_id": "7d1edac27ac9090e",
        "parent_span_id": "161588887af434eb",
        "start": 1796322050345561372,
        "end": 1796322050345809788,
        "attributes": {
            "langfuse.environment": "staging",
            "langfuse.release": "rel-9",
            "langfuse.observation.input": "q",
            "langfuse.observation.type": "tool",
            "langfuse.observation.output": "r",
        },
    },
    {
        "name": "agent-root",
        "trace_id": TRACE_5X_ENV,
        "span_id": "161588887af434eb",
        "start": 1796322050343711883,
        "end": 1796322050345862457,
        "attributes": {
            "langfuse.internal.is_app_root": True,
            "langfuse.observation.type": "agent",
            "langfuse.environment": "staging",
            "langfuse.release": "rel-9",
        },
    },
]

TRACE_3X = "1c4efd31f2970ed4fa08b520c16631f1"
SPANS_3X = [
    {
        "name": "llm",
        "trace_id": TRACE_3X,
        "span_id": "7f26a0fe1f47536d",
        "parent_span_id": "aa7f12047d1ea575",
        "start": 1796321885551094040,
        "end": 1796321885551475716,
        "attributes": {
            "langfuse.observation.model.name": "gpt-4o",
            "langfuse.observation.prompt.name": "greeting",
            "langfuse.observation.prompt.version": "1",
            "langfuse.observation.usage_details": '{"input": 10, "output": 3}',
            "langfuse.observation.cost_details": '{"total": 0.001}',
            "langfuse.observation.type": "generation",
            "langfuse.observation.output": "hi",
        },
    },
    {
        "name": "root",
        "trace_id": TRACE_3X,
        "span_id": "aa7f12047d1ea575",
        "start": 1796321885550134340,
        "end": 1796321885552210815,
        "attributes": {
            "langfuse.observation.type": "span",
            "langfuse.observation.input": '{"q": 1}',
            "user.id": "user-42",
            "session.id": "sess-7",
            "langfuse.trace.tags": ["t"],
            "langfuse.trace.metadata.tenant": "acme",
        },
    },
]

TRACE_LITELLM = "ddea6b89485aa82d774f2f60f897cad1"
SPANS_LITELLM = [
    {
        "name": "ll-gen",
        "trace_id": TRACE_LITELLM,
        "span_id": "a254701c47dd0e82",
        "start": 1796321990554637056,
        "end": 1796321991789836800,
        "attributes": {
            "langfuse.observation.type": "generation",
            "langfuse.observation.level": "DEFAULT",
            "langfuse.observation.input": (
                '{"messages": [{"role": "user", "content": "hello"}]}'
            ),
            "langfuse.observation.output": (
                '{"content": "hi there", "role": "assistant", "tool_calls": null, '
                '"function_call": null, "provider_specific_fields": null}'
            ),
            "langfuse.observation.model.name": "gpt-4o-mini",
            "langfuse.observation.model.parameters": '{"extra_body": "{}"}',
            "langfuse.observation.usage_details": (
                '{"input": 10, "output": 20, "total": 30, '
                '"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}'
            ),
            "langfuse.observation.cost_details": '{"total": 1.35e-05}',
            "langfuse.observation.completion_start_time": (
                '"2026-12-03T18:19:51.789837+00:00"'
            ),
            "langfuse.observation.metadata.requester_metadata": "{}",
            "langfuse.observation.metadata.cache_hit": False,
            "langfuse.observation.metadata.litellm_call_id": (
                "da197c92-3005-4b86-a645-f22f50ea060a"
            ),
            "langfuse.trace.name": "ll-trace",
            "user.id": "user-42",
            "session.id": "sess-7",
            "langfuse.trace.tags": ["ll"],
        },
    }
]

SCORES_5X = [
    {
        "id": "22c5221b9d7aff54",
        "traceId": TRACE_5X,
        "observationId": "1549d1ac71497bdb",
        "name": "quality",
        "value": 0.9,
        "comment": "good",
        "timestamp": "2026-12-03T18:13:18.261307Z",
    },
    {
        "id": "b4d991fe9c01d6ed",
        "traceId": TRACE_5X,
        "name": "category",
        "value": "ok",
        "dataType": "CATEGORICAL",
        "timestamp": "2026-12-03T18:13:18.261721Z",
    },
    {
        "id": "21b1ede4e14021db",
        "traceId": TRACE_5X,
        "name": "user-feedback",
        "value": 1.0,
        "dataType": "BOOLEAN",
        "timestamp": "2026-12-03T18:13:18.261856Z",
    },
]

SCORE_BATCH_3X = {
    "batch": [
        {
            "id": "b39e3949eed379009c2e8bd7f0371606",
            "type": "score-create",
            "timestamp": "2026-12-03T18:18:05.551991Z",
            "body": {
                "id": "7514f0b5576828df",
                "traceId": TRACE_3X,
                "name": "quality",
                "value": 0.8,
            },
        }
    ],
    "metadata": {
        "batch_size": 1,
        "sdk_name": "python",
        "sdk_version": "3.14.6",
        "public_key": "pk-lf-test",
    },
}

TRACE_2X = "4961a88a-3810-4c0e-ba37-0ccba4aa187a"
GENERATION_2X = "900885ea-f09d-48a2-92a6-70f81a4ec1a7"
BATCH_2X = {
    "batch": [
        {
            "id": "15545323-a5c9-44e1-8409-fee7da16eadf",
            "type": "trace-create",
            "body": {
                "id": TRACE_2X,
                "timestamp": "2026-12-03T18:16:59.454039Z",
                "name": "my-trace",
                "userId": "user-42",
                "input": {"q": "hello"},
                "sessionId": "sess-7",
                "release": "rel-1",
                "version": "1.2.3",
                "metadata": {"tenant": "acme"},
                "tags": ["t-a"],
            },
            "timestamp": "2026-12-03T18:16:59.454185Z",
        },
        {
            "id": "7fc19de7-f688-4bb7-9396-8d5a0867c6ba",
            "type": "span-create",
            "body": {
                "traceId": TRACE_2X,
                "name": "retrieve",
                "startTime": "2026-12-03T18:16:59.454302Z",
                "input": {"q": "hello"},
                "id": "2152fe8e-55d4-485a-9d65-b389197f7726",
            },
            "timestamp": "2026-12-03T18:16:59.454419Z",
        },
        {
            "id": "a7577152-5a58-4954-8fff-5155cbdd7536",
            "type": "span-update",
            "body": {
                "traceId": TRACE_2X,
                "output": {"docs": 2},
                "id": "2152fe8e-55d4-485a-9d65-b389197f7726",
                "endTime": "2026-12-03T18:16:59.454446Z",
            },
            "timestamp": "2026-12-03T18:16:59.454571Z",
        },
        {
            "id": "1e29d49c-8f27-401e-92b0-004ae3b754cf",
            "type": "generation-create",
            "body": {
                "traceId": TRACE_2X,
                "name": "llm-call",
                "startTime": "2026-12-03T18:16:59.454615Z",
                "input": [{"role": "user", "content": "hello"}],
                "id": GENERATION_2X,
                "completionStartTime": "2026-12-03T18:16:59.454598Z",
                "model": "gpt-4o-mini",
                "modelParameters": {"temperature": "0.2", "max_tokens": 100},
                "promptName": "greeting",
                "promptVersion": 1,
            },
            "timestamp": "2026-12-03T18:16:59.455919Z",
        },
        {
            "id": "2db9a112-a20c-4e89-acc5-f92d80735447",
            "type": "generation-update",
            "body": {
                "traceId": TRACE_2X,
                "output": "hi!",
                "id": GENERATION_2X,
                "endTime": "2026-12-03T18:16:59.455962Z",
                "usageDetails": {"input": 12, "output": 5, "input_cached_tokens": 3},
                "costDetails": {"input": 0.0001, "output": 0.0002},
            },
            "timestamp": "2026-12-03T18:16:59.456833Z",
        },
        {
            "id": "dde78004-789a-4754-99e3-4ffd977d45c4",
            "type": "generation-create",
            "body": {
                "traceId": TRACE_2X,
                "name": "llm-call-2",
                "startTime": "2026-12-03T18:16:59.457001Z",
                "id": "0b7cb8f2-4b55-4d3c-9a55-5a1f0f0e2a11",
                "model": "gpt-4o-mini",
                "usage": {"input": 800, "output": 100, "unit": "TOKENS"},
            },
            "timestamp": "2026-12-03T18:16:59.457101Z",
        },
        {
            "id": "4b0a3a0e-3e55-4f49-8b6c-2f1a5a0c2b22",
            "type": "generation-update",
            "body": {
                "traceId": TRACE_2X,
                "id": "0b7cb8f2-4b55-4d3c-9a55-5a1f0f0e2a11",
                "endTime": "2026-12-03T18:16:59.458001Z",
                "output": "ok",
            },
            "timestamp": "2026-12-03T18:16:59.458101Z",
        },
        {
            "id": "5c1b4b1f-4f66-4a5a-9c7d-3a2b6b1d3c33",
            "type": "event-create",
            "body": {
                "traceId": TRACE_2X,
                "name": "cache-miss",
                "startTime": "2026-12-03T18:16:59.458201Z",
                "id": "8e1d2c3b-4a59-4687-9f0e-1d2c3b4a5968",
                "input": {"key": "abc"},
            },
            "timestamp": "2026-12-03T18:16:59.458301Z",
        },
        {
            "id": "6d2c5c20-5a77-4b6b-8d8e-4b3c7c2e4d44",
            "type": "score-create",
            "body": {
                "id": "score-2x-1",
                "traceId": TRACE_2X,
                "name": "quality",
                "value": 0.9,
            },
            "timestamp": "2026-12-03T18:16:59.458401Z",
        },
        {
            "id": "7e3d6d31-6b88-4c7c-9e9f-5c4d8d3f5e55",
            "type": "score-create",
            "body": {
                "id": "score-2x-2",
                "traceId": TRACE_2X,
                "observationId": GENERATION_2X,
                "name": "category",
                "value": "ok",
                "dataType": "CATEGORICAL",
            },
            "timestamp": "2026-12-03T18:16:59.458501Z",
        },
        {
            "id": "8f4e7e42-7c99-4d8d-8fa0-6d5e9e4f6f66",
            "type": "trace-create",
            "body": {"id": TRACE_2X, "output": "done"},
            "timestamp": "2026-12-03T18:16:59.458601Z",
        },
    ],
    "metadata": {
        "batch_size": 11,
        "sdk_integration": "default",
        "sdk_name": "python",
        "sdk_version": "2.60.10",
        "public_key": "pk-lf-test",
    },
}
