"""Ingestion end to end: OTLP generations in, priced observations out.

The request bodies are what the langfuse 5.x SDK exports: one
ExportTraceServiceRequest per batch with the ``langfuse-sdk`` scope, the
SDK's attributes on every generation, protobuf, gzip. They are built before
the clock starts, so the figures measure the server, not this client.
"""

import gzip
import http.client
import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

logger = logging.getLogger(__name__)

OTEL_PATH = "/api/public/otel/v1/traces"
SDK_VERSION = "5.0.4"
GENERATIONS_PER_TRACE = 5
# Models the public price table knows, so every generation ends with a cost.
MODELS = ["gpt-4o-mini"] * 6 + ["gpt-4o", "claude-3-5-sonnet", "gpt-4.1-mini"]
# The exporter retries these (and only these) statuses.
RETRIED_STATUSES = {429, 502, 503, 504}
QUESTIONS = [
    "Tell me about a time a data pipeline silently produced wrong numbers.",
    "How would you change an API's error format without breaking clients?",
    "Walk me through the last incident you led, from page to postmortem.",
    "Your offline metric went up but the A/B test is flat. What do you check?",
]


def _value(value):
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list | tuple):
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    return AnyValue(string_value=value)


def _attributes(mapping):
    return [KeyValue(key=key, value=_value(value)) for key, value in mapping.items()]


def _resource():
    return Resource(
        attributes=_attributes(
            {
                "telemetry.sdk.language": "python",
                "telemetry.sdk.name": "opentelemetry",
                "telemetry.sdk.version": "1.45.2",
                "service.name": "interview-service",
                "service.instance.id": str(uuid.uuid4()),
            }
        )
    )


def _scope(public_key):
    return InstrumentationScope(
        name="langfuse-sdk",
        version=SDK_VERSION,
        attributes=_attributes({"public_key": public_key}),
    )


def _iso(nanos):
    seconds, rest = divmod(nanos, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{rest // 1000:06d}Z"


def generation_span(rng, *, trace_id, parent_id, index, prompt, start_ns):
    """One LLM call as the 5.x SDK reports it inside propagate_attributes()."""
    model = rng.choice(MODELS)
    input_tokens = rng.randint(450, 900)
    cached = rng.choice([0, 0, 256, 512]) if input_tokens > 512 else 0
    output_tokens = rng.randint(20, 120)
    latency_ns = rng.randint(300, 2500) * 1_000_000
    user_id = f"candidate-{rng.randint(1, 500):03d}"
    question = rng.choice(QUESTIONS)
    messages = [
        {"role": "system", "content": prompt["text"]},
        {"role": "user", "content": f"Candidate {user_id}, round {index + 1}."},
    ]
    attributes = {
        "user.id": user_id,
        "session.id": f"interview-{trace_id.hex()[:12]}",
        "langfuse.trace.name": "interview-question",
        "langfuse.trace.tags": ["interviews", "production"],
        "langfuse.trace.metadata.feature": '"interviews"',
        "langfuse.version": "1.4.2",
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": model,
        "langfuse.observation.model.parameters": json.dumps(
            {"temperature": 0.2, "max_tokens": 300}
        ),
        "langfuse.observation.input": json.dumps(messages),
        "langfuse.observation.output": json.dumps(
            {"role": "assistant", "content": question}
        ),
        "langfuse.observation.usage_details": json.dumps(
            {
                "input": input_tokens - cached,
                "input_cached_tokens": cached,
                "output": output_tokens,
            }
        ),
        "langfuse.observation.completion_start_time": json.dumps(
            _iso(start_ns + latency_ns // 3)
        ),
        "langfuse.observation.metadata.round": json.dumps(index + 1),
    }
    if prompt.get("version"):
        attributes["langfuse.observation.prompt.name"] = prompt["name"]
        attributes["langfuse.observation.prompt.version"] = prompt["version"]
    return Span(
        trace_id=trace_id,
        span_id=rng.randbytes(8),
        parent_span_id=parent_id or b"",
        name="generate-question",
        kind=Span.SpanKind.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + latency_ns,
        attributes=_attributes(attributes),
    )


def build_batches(*, generations, batch_size, public_key, prompt, seed=7):
    """gzip'd ExportTraceServiceRequest bodies, ``batch_size`` spans each.

    Traces hold five generations; the first is the trace root.
    """
    rng = random.Random(seed)
    now_ns = time.time_ns()
    spans = []
    for trace_index in range(generations // GENERATIONS_PER_TRACE + 1):
        trace_id = rng.randbytes(16)
        root_id = None
        for index in range(GENERATIONS_PER_TRACE):
            if len(spans) == generations:
                break
            start_ns = now_ns - (generations - trace_index) * 50_000_000
            span = generation_span(
                rng,
                trace_id=trace_id,
                parent_id=root_id,
                index=index,
                prompt=prompt,
                start_ns=start_ns + index * 3_000_000_000,
            )
            root_id = root_id or span.span_id
            spans.append(span)
    resource = _resource()
    scope = _scope(public_key)
    bodies = []
    for offset in range(0, len(spans), batch_size):
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=resource,
                    scope_spans=[
                        ScopeSpans(
                            scope=scope, spans=spans[offset : offset + batch_size]
                        )
                    ],
                )
            ]
        )
        bodies.append(gzip.compress(request.SerializeToString()))
    return bodies


def otlp_headers(*, auth, public_key):
    return {
        "Authorization": auth,
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "User-Agent": "OTel-OTLP-Exporter-Python/1.45.2",
        "x-langfuse-sdk-name": "python",
        "x-langfuse-sdk-version": SDK_VERSION,
        "x-langfuse-public-key": public_key,
        "x-langfuse-ingestion-version": "4",
    }


@dataclass
class PostLog:
    statuses: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)
    retries: int = 0
    failed_batches: int = 0
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status, latency, body=b""):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(latency)
            if status >= 300:
                # One line per distinct answer: 200 identical 404 pages say no more.
                first_line = body.strip().split(b"\n", 1)[0][:200]
                failure = f"{status}: {first_line.decode(errors='replace')}"
                if failure not in self.failures and len(self.failures) < 5:
                    self.failures.append(failure)


def post_batch(host, port, body, headers, log, attempts=4):
    for attempt in range(attempts):
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection(host, port, timeout=30)
            connection.request("POST", OTEL_PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            connection.close()
            status = response.status
        except OSError as error:
            status, answer = 599, str(error).encode()
        log.record(status, time.perf_counter() - started, answer)
        if 200 <= status < 300:
            return True
        if status not in RETRIED_STATUSES | {599} or attempt == attempts - 1:
            break
        with log.lock:
            log.retries += 1
        time.sleep(0.5 * (attempt + 1))
    with log.lock:
        log.failed_batches += 1
    return False


class CostedCounter:
    """Polls how many of the project's observations carry a cost."""

    def __init__(self, database_url, project_id):
        self.connection = psycopg.connect(database_url, autocommit=True)
        self.project_id = project_id

    def count(self):
        row = self.connection.execute(
            "SELECT count(*) FROM tracing_observation "
            "WHERE project_id = %s AND total_cost IS NOT NULL",
            (self.project_id,),
        ).fetchone()
        return row[0]

    def breakdown(self):
        rows = self.connection.execute(
            "SELECT price_source, count(*), count(total_cost), "
            "count(prompt_version_id) FROM tracing_observation "
            "WHERE project_id = %s GROUP BY price_source",
            (self.project_id,),
        ).fetchall()
        batches = self.connection.execute(
            "SELECT count(*), count(processed_at), "
            "count(*) FILTER (WHERE last_error <> '') FROM tracing_ingestionbatch "
            "WHERE project_id = %s",
            (self.project_id,),
        ).fetchone()
        return {
            "observations_by_price_source": {
                source or "(empty)": {
                    "rows": total,
                    "with_cost": costed,
                    "with_prompt_link": linked,
                }
                for source, total, costed, linked in rows
            },
            "batches": {
                "stored": batches[0],
                "processed": batches[1],
                "with_error": batches[2],
            },
        }

    def close(self):
        self.connection.close()


def run(
    *,
    bodies,
    base_url,
    database_url,
    project_id,
    auth,
    public_key,
    generations,
    batch_size,
    clients,
    timeout,
    on_tick=None,
):
    """Post ``bodies`` with ``clients`` threads; wait until all are priced."""
    headers = otlp_headers(auth=auth, public_key=public_key)
    host_port = base_url.removeprefix("http://")
    host, port = host_port.split(":")
    counter = CostedCounter(database_url, project_id)
    log = PostLog()
    progress = []
    accepted_at = None
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            futures = [
                pool.submit(post_batch, host, int(port), body, headers, log)
                for body in bodies
            ]
            while not all(future.done() for future in futures):
                if time.perf_counter() - started > timeout:
                    break
                progress.append((time.perf_counter() - started, counter.count()))
                if on_tick:
                    on_tick()
                time.sleep(0.5)
            accepted_batches = sum(1 for future in futures if future.result(timeout))
        accepted_at = time.perf_counter() - started
        expected = accepted_batches * batch_size
        expected = min(expected, generations)
        costed = counter.count()
        ticks = 0
        while costed < expected and time.perf_counter() - started < timeout:
            # A count every 0.2 s: fine enough for a run of many seconds, and
            # cheap for the two cores the server needs.
            time.sleep(0.2)
            costed = counter.count()
            progress.append((time.perf_counter() - started, costed))
            ticks += 1
            if on_tick and ticks % 3 == 0:
                on_tick()
        finished_at = time.perf_counter() - started
        breakdown = counter.breakdown()
    finally:
        counter.close()
    complete = costed >= generations
    latencies = sorted(log.latencies)
    return {
        "generations": generations,
        "batch_size": batch_size,
        "client_threads": clients,
        "body_bytes_gzip_mean": sum(map(len, bodies)) / len(bodies),
        "http_statuses": {str(k): v for k, v in sorted(log.statuses.items())},
        "http_failures": log.failures,
        "retries": log.retries,
        "failed_batches": log.failed_batches,
        "accept_seconds": accepted_at,
        "accept_spans_per_s": generations / accepted_at if accepted_at else None,
        "request_p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
        "request_p99_ms": (
            latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None
        ),
        "costed_observations": costed,
        "complete": complete,
        "end_to_end_seconds": finished_at,
        "end_to_end_spans_per_s": generations / finished_at if complete else None,
        "progress": [
            (round(t, 2), n) for t, n in progress[:: max(1, len(progress) // 60)]
        ],
        **breakdown,
    }
