"""OTLP/HTTP trace exports: decoding, checking and mapping spans to events.

Spans map to the same normalised events as batch ingestion (see
``tracing.ingestion``), following Langfuse's attribute rules: a span without
a parent (or marked ``langfuse.internal.as_root``) is the trace root, other
spans update the trace only when they carry trace-level attributes.
"""

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from .ingestion import (
    MAX_COST,
    EventError,
    cost_string,
    is_breakdown,
    is_openai_usage,
    normalise_environment,
    openai_usage,
    parse_timestamp,
    token_count,
    usd_amount,
)
from .models import Level, ObservationType

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUS_ERROR = 2

OBSERVATION_TYPES = {value.lower(): value for value in ObservationType.values}
OPENINFERENCE_KINDS = {
    "LLM": ObservationType.GENERATION,
    "CHAIN": ObservationType.CHAIN,
    "TOOL": ObservationType.TOOL,
    "AGENT": ObservationType.AGENT,
    "RETRIEVER": ObservationType.RETRIEVER,
    "RERANKER": ObservationType.RETRIEVER,
    "EMBEDDING": ObservationType.EMBEDDING,
    "GUARDRAIL": ObservationType.GUARDRAIL,
    "EVALUATOR": ObservationType.EVALUATOR,
}
GENAI_OPERATIONS = {
    "chat": ObservationType.GENERATION,
    "completion": ObservationType.GENERATION,
    "text_completion": ObservationType.GENERATION,
    "generate_content": ObservationType.GENERATION,
    "generate": ObservationType.GENERATION,
    "embeddings": ObservationType.EMBEDDING,
    "invoke_agent": ObservationType.AGENT,
    "create_agent": ObservationType.AGENT,
    "execute_tool": ObservationType.TOOL,
}
MODEL_KEYS = (
    "langfuse.observation.model.name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "model",
)
USER_KEYS = ("langfuse.user.id", "user.id")
SESSION_KEYS = ("langfuse.session.id", "session.id", "gen_ai.conversation.id")
ENVIRONMENT_KEYS = (
    "langfuse.environment",
    "deployment.environment.name",
    "deployment.environment",
)
USAGE_DETAILS = "langfuse.observation.usage_details"
COST_DETAILS = "langfuse.observation.cost_details"
COST_TOTAL_KEYS = ("gen_ai.usage.cost", "llm.cost.total")
TRACE_METADATA = "langfuse.trace.metadata"
OBSERVATION_METADATA = "langfuse.observation.metadata"
# Trace-level attributes that make a non-root span update its trace.
TRACE_LEVEL_PREFIXES = ("langfuse.trace.", "langfuse.tags")
TRACE_LEVEL_KEYS = set(USER_KEYS) | set(SESSION_KEYS)

# gen_ai.usage.* and llm.token_count.* keys: (our key, subtracted from)
GENAI_USAGE_KEYS = {
    "gen_ai.usage.input_tokens": ("input", None),
    "gen_ai.usage.prompt_tokens": ("input", None),
    "gen_ai.usage.output_tokens": ("output", None),
    "gen_ai.usage.completion_tokens": ("output", None),
    "gen_ai.usage.total_tokens": ("total", None),
    "gen_ai.usage.cache_read_input_tokens": ("input_cached_tokens", "input"),
    "gen_ai.usage.cache_read.input_tokens": ("input_cached_tokens", "input"),
    "gen_ai.usage.cache_creation_input_tokens": ("input_cache_creation", "input"),
    "gen_ai.usage.cache_creation.input_tokens": ("input_cache_creation", "input"),
    "gen_ai.usage.reasoning_tokens": ("output_reasoning_tokens", "output"),
    "gen_ai.usage.output_reasoning_tokens": ("output_reasoning_tokens", "output"),
    "gen_ai.usage.audio_tokens": ("output_audio_tokens", "output"),
    "llm.token_count.prompt": ("input", None),
    "llm.token_count.completion": ("output", None),
    "llm.token_count.total": ("total", None),
    "llm.token_count.prompt_details.cache_read": ("input_cached_tokens", "input"),
    "llm.token_count.prompt_details.cache_write": ("input_cache_creation", "input"),
    "llm.token_count.completion_details.reasoning": (
        "output_reasoning_tokens",
        "output",
    ),
    "llm.token_count.completion_details.audio": ("output_audio_tokens", "output"),
}
# The attributes usage and cost are read from (and checked on the request path).
USAGE_ATTRIBUTES = {USAGE_DETAILS, COST_DETAILS, *COST_TOTAL_KEYS, *GENAI_USAGE_KEYS}
# How many dropped-attribute warnings one export answer lists in full.
MAX_WARNINGS = 10


class OtelError(ValueError):
    """The export is unusable as a whole; the message says why."""


def _hex_to_base64(value, field):
    if not value:
        return value
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except (ValueError, TypeError) as error:
        raise OtelError(f"{field}: {value!r} is not a hex id") from error


def _hex_ids_to_base64(document):
    """OTLP/JSON carries ids as hex where protobuf's JSON mapping wants base64."""
    for resource_spans in document.get("resourceSpans") or []:
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _hex_to_base64(span[key], f"span.{key}")
                for link in span.get("links") or []:
                    for key in ("traceId", "spanId"):
                        if key in link:
                            link[key] = _hex_to_base64(link[key], f"link.{key}")


def decode_export(payload, content_type):
    """Parse an export body into an ExportTraceServiceRequest; raises OtelError."""
    request = ExportTraceServiceRequest()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(payload)
        except DecodeError as error:
            raise OtelError("body: not a valid OTLP protobuf export") from error
        return request
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise OtelError("body: not valid JSON") from error
    if not isinstance(document, dict):
        raise OtelError("body: an OTLP/JSON export is an object")
    try:
        _hex_ids_to_base64(document)
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, AttributeError, TypeError) as error:
        raise OtelError(f"body: not a valid OTLP/JSON export ({error})") from error
    return request


def check_span_ids(request):
    """Every span needs a 16-byte trace id and an 8-byte span id; count spans."""
    count = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                count += 1
                if len(span.trace_id) != 16 or not any(span.trace_id):
                    raise OtelError(f"span {span.name!r}: missing or invalid traceId")
                if len(span.span_id) != 8 or not any(span.span_id):
                    raise OtelError(f"span {span.name!r}: missing or invalid spanId")
                if span.parent_span_id and len(span.parent_span_id) != 8:
                    raise OtelError(f"span {span.name!r}: invalid parentSpanId")
    return count


def any_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def attributes(key_values):
    return {item.key: any_value(item.value) for item in key_values}


def _json_or_raw(value):
    """Langfuse SDKs JSON-encode structured values and send plain strings raw."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _json_object(value):
    decoded = _json_or_raw(value)
    return decoded if isinstance(decoded, dict) else None


def _first(attrs, keys):
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def _nanos(value):
    if not value:
        return None
    return EPOCH + timedelta(microseconds=value // 1000)


def _major_version(version):
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _flattened(attrs, prefix, *, decode):
    """``prefix.<key>`` attributes as a dict (values JSON-decoded for 5.x)."""
    start = prefix + "."
    return {
        key[len(start) :]: _json_or_raw(value) if decode else value
        for key, value in attrs.items()
        if key.startswith(start)
    }


def _metadata(attrs, prefix, *, decode):
    metadata = _json_object(attrs.get(prefix)) or {}
    metadata.update(_flattened(attrs, prefix, decode=decode))
    return metadata


def _tags(attrs):
    tags = _first(attrs, ("langfuse.trace.tags", "langfuse.tags"))
    if tags is None:
        return None
    if isinstance(tags, str):
        decoded = _json_or_raw(tags)
        tags = decoded if isinstance(decoded, list) else tags.split(",")
    if not isinstance(tags, list):
        return None
    return [str(tag).strip() for tag in tags if str(tag).strip()]


def _observation_type(attrs):
    declared = attrs.get("langfuse.observation.type")
    if isinstance(declared, str) and declared.lower() in OBSERVATION_TYPES:
        return OBSERVATION_TYPES[declared.lower()]
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_KINDS:
        return OPENINFERENCE_KINDS[kind.upper()]
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in GENAI_OPERATIONS:
        return GENAI_OPERATIONS[operation]
    if _first(attrs, MODEL_KEYS):
        return ObservationType.GENERATION
    return ObservationType.SPAN


def _count(value, name, problems):
    """A token count from an attribute; a bad one is left out and noted.

    OTLP has no per-span rejection short of dropping the span, so a bad
    count costs only itself: the span keeps its other usage and its place
    in the trace, and ``problems`` says what was dropped (see
    ``export_warnings``).
    """
    if value is None:
        return None
    try:
        return token_count(value)
    except ValueError as error:
        problems.append(f"{name}: {error}")
        return None


def _explicit_object(attrs, key, problems):
    """A JSON-object attribute; anything else is noted and ignored."""
    value = attrs.get(key)
    if value is None:
        return None
    decoded = _json_object(value)
    if decoded is None:
        problems.append(f"{key}: must be a JSON object, got {value!r}")
    return decoded


def _usage_map(value, problems):
    """Explicit usage details, each count checked on its own."""
    if is_openai_usage(value):
        return openai_usage(
            value,
            USAGE_DETAILS,
            count=lambda raw, name: _count(raw, name, problems),
        )
    usage = {}
    for key, raw in value.items():
        if is_breakdown(raw):
            continue
        count = _count(raw, f"{USAGE_DETAILS}.{key}", problems)
        if count is not None:
            usage[str(key)] = count
    return usage


def _genai_usage(attrs, problems):
    usage, subtract = {}, {}
    for key, (target, base) in GENAI_USAGE_KEYS.items():
        if target in usage:
            continue
        count = _count(attrs.get(key), key, problems)
        if count is None:
            continue
        usage[target] = count
        if base:
            subtract[base] = subtract.get(base, 0) + count
    for base, amount in subtract.items():
        if base in usage:
            usage[base] = max(usage[base] - amount, 0)
    return usage


def _usage(attrs, problems):
    explicit = _explicit_object(attrs, USAGE_DETAILS, problems)
    if explicit is not None:
        return _usage_map(explicit, problems)
    return _genai_usage(attrs, problems)


def _costs(attrs, problems):
    explicit = _explicit_object(attrs, COST_DETAILS, problems)
    names = {key: f"{COST_DETAILS}.{key}" for key in explicit or {}}
    if explicit is None:
        key = next((k for k in COST_TOTAL_KEYS if attrs.get(k) not in (None, "")), None)
        explicit = {"total": attrs[key]} if key else {}
        names = {"total": key}
    costs = {}
    for key, raw in explicit.items():
        if raw is None:
            continue
        try:
            costs[str(key)] = usd_amount(raw)
        except ValueError as error:
            problems.append(f"{names[key]}: {error}")
    parts = sum((v for k, v in costs.items() if k != "total"), Decimal(0))
    if parts > MAX_COST:
        problems.append(f"{COST_DETAILS}: the costs add up to more than {MAX_COST} USD")
        return {}
    return {key: cost_string(amount) for key, amount in costs.items()}


def _model_parameters(attrs):
    explicit = _json_object(attrs.get("langfuse.observation.model.parameters"))
    if explicit is not None:
        return explicit
    request = {
        key[len("gen_ai.request.") :]: value
        for key, value in attrs.items()
        if key.startswith("gen_ai.request.") and key != "gen_ai.request.model"
    }
    return request or _json_object(attrs.get("llm.invocation_parameters"))


def _messages(attrs, prefix):
    """Flattened ``gen_ai.prompt.N.role`` / ``.content`` as a list of messages."""
    start = prefix + "."
    indexed = {}
    for key, value in attrs.items():
        if not key.startswith(start):
            continue
        index, _, field = key[len(start) :].partition(".")
        if index.isdigit() and field:
            indexed.setdefault(int(index), {})[field] = value
    return [indexed[index] for index in sorted(indexed)] or None


def _io(attrs, side):
    explicit = attrs.get(f"langfuse.observation.{side}")
    if explicit is not None:
        return _json_or_raw(explicit)
    genai = "input" if side == "input" else "output"
    messages = attrs.get(f"gen_ai.{genai}.messages")
    if messages is not None:
        return _json_or_raw(messages)
    flattened = _messages(
        attrs, "gen_ai.prompt" if side == "input" else "gen_ai.completion"
    )
    if flattened is not None:
        return flattened
    value = attrs.get(f"{side}.value")
    return _json_or_raw(value) if value is not None else None


def _completion_start(attrs):
    value = _json_or_raw(attrs.get("langfuse.observation.completion_start_time"))
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value, "completion_start_time", naive_is_utc=True)
    except EventError:
        return None


def _prompt_link(attrs):
    name = _first(attrs, ("langfuse.observation.prompt.name", "langfuse.prompt.name"))
    version = _first(
        attrs, ("langfuse.observation.prompt.version", "langfuse.prompt.version")
    )
    try:
        version = token_count(version) if version is not None else None
    except ValueError:
        version = None
    if not isinstance(name, str) or not version:
        return {}
    return {"prompt_name": name, "prompt_version_number": version}


def _level(attrs, span):
    level = attrs.get("langfuse.observation.level")
    if isinstance(level, str) and level.upper() in Level.values:
        return level.upper()
    return Level.ERROR if span.status.code == STATUS_ERROR else None


def _observation_metadata(attrs, scope_name, *, decode):
    metadata = _metadata(attrs, OBSERVATION_METADATA, decode=decode)
    if scope_name != "langfuse-sdk":
        # Other instrumentations put their data in attributes of their own.
        metadata["attributes"] = {
            key: value
            for key, value in attrs.items()
            if not key.startswith("langfuse.")
        }
    return metadata or None


class _Context:
    """Resource and scope of a group of spans."""

    def __init__(self, resource, scope, sdk_version):
        self.resource = resource
        self.scope_name = scope.name
        self.scope_version = scope.version
        version = sdk_version if scope.name != "langfuse-sdk" else scope.version
        self.decode_metadata = _major_version(version or sdk_version) >= 5

    def environment(self, attrs):
        value = _first(attrs, ENVIRONMENT_KEYS) or _first(
            self.resource, ENVIRONMENT_KEYS
        )
        return normalise_environment(value)

    def release(self, attrs):
        return _first(attrs, ("langfuse.release",)) or self.resource.get(
            "langfuse.release"
        )


def _observation_event(span, attrs, context, ids, times, problems):
    trace_id, span_id, parent_id = ids
    start, end = times
    observation_type = _observation_type(attrs)
    fields = {
        "trace_id": trace_id,
        "parent_observation_id": parent_id,
        "type": observation_type,
        "name": attrs.get("gen_ai.tool.name") or span.name,
        "start_time": start,
        "end_time": end,
        "completion_start_time": _completion_start(attrs),
        "model": _first(attrs, MODEL_KEYS),
        "model_parameters": _model_parameters(attrs),
        "input": _io(attrs, "input"),
        "output": _io(attrs, "output"),
        "metadata": _observation_metadata(
            attrs, context.scope_name, decode=context.decode_metadata
        ),
        "level": _level(attrs, span),
        "status_message": attrs.get("langfuse.observation.status_message")
        or span.status.message
        or None,
        "version": attrs.get("langfuse.version"),
        "environment": context.environment(attrs),
        "provided_usage_details": _usage(attrs, problems) or None,
        "provided_cost_details": _costs(attrs, problems) or None,
    }
    if observation_type == ObservationType.GENERATION:
        fields.update(_prompt_link(attrs))
    if isinstance(fields["model"], str):
        fields["model"] = fields["model"][:255]
    return _event("observation", span_id, end or start, fields)


def _carries_trace_attributes(attrs):
    return any(
        key in TRACE_LEVEL_KEYS or key.startswith(TRACE_LEVEL_PREFIXES) for key in attrs
    )


def _trace_metadata(attrs, context, *, root):
    metadata = _metadata(attrs, TRACE_METADATA, decode=context.decode_metadata)
    if root:
        metadata["resourceAttributes"] = context.resource
        metadata["scope"] = {
            "name": context.scope_name,
            "version": context.scope_version,
        }
    return metadata or None


def _trace_event(span, attrs, context, observation, *, root):
    observation_fields = observation["fields"]
    name = attrs.get("langfuse.trace.name") or (span.name if root else None)
    fields = {
        "name": name,
        "user_id": _first(attrs, USER_KEYS),
        "session_id": _first(attrs, SESSION_KEYS),
        "tags": _tags(attrs),
        "metadata": _trace_metadata(attrs, context, root=root),
        "input": _json_or_raw(attrs.get("langfuse.trace.input")),
        "output": _json_or_raw(attrs.get("langfuse.trace.output")),
        "version": attrs.get("langfuse.version")
        or context.resource.get("service.version"),
        "release": context.release(attrs),
        "public": attrs.get("langfuse.trace.public") in (True, "true"),
        "environment": observation_fields["environment"],
    }
    metadata = observation_fields.get("metadata") or {}
    fields["user_id"] = fields["user_id"] or metadata.get("langfuse_user_id")
    fields["session_id"] = fields["session_id"] or metadata.get("langfuse_session_id")
    if root:
        fields["timestamp"] = observation_fields["start_time"]
        if fields["input"] is None:
            fields["input"] = observation_fields.get("input")
        if fields["output"] is None:
            fields["output"] = observation_fields.get("output")
    if not fields["public"]:
        fields["public"] = None
    for key in ("user_id", "session_id", "name", "version", "release"):
        if fields[key] is not None:
            fields[key] = str(fields[key])[: 1000 if key == "name" else 255]
    return _event("trace", observation_fields["trace_id"], observation["time"], fields)


def _event(entity, entity_id, time, fields):
    return {
        "entity": entity,
        "id": entity_id,
        "time": time,
        "update": False,
        "event_id": None,
        "fields": {key: value for key, value in fields.items() if value is not None},
    }


def span_events(span, context):
    """The observation event for one span, plus a trace event when it has one."""
    attrs = attributes(span.attributes)
    ids = (
        span.trace_id.hex(),
        span.span_id.hex(),
        span.parent_span_id.hex() if span.parent_span_id else None,
    )
    start = _nanos(span.start_time_unix_nano) or _nanos(span.end_time_unix_nano)
    end = _nanos(span.end_time_unix_nano)
    # Bad usage and cost values were reported when the export was accepted.
    ignored = []
    observation = _observation_event(span, attrs, context, ids, (start, end), ignored)
    root = ids[2] is None or attrs.get("langfuse.internal.as_root") in (True, "true")
    if root or _carries_trace_attributes(attrs):
        return [observation, _trace_event(span, attrs, context, observation, root=root)]
    return [observation]


def export_events(request, *, sdk_version=""):
    """All spans of a decoded export as normalised events."""
    events = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            context = _Context(resource, scope_spans.scope, sdk_version)
            for span in scope_spans.spans:
                events.extend(span_events(span, context))
    return events


def export_warnings(request):
    """Why usage or cost attributes of spans in the export will be dropped.

    One message per dropped value, naming the span and the attribute. Reads
    only the usage and cost attributes, so it is cheap on the request path;
    processing drops exactly these values (the same functions decide).
    """
    warnings = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attrs = {
                    item.key: any_value(item.value)
                    for item in span.attributes
                    if item.key in USAGE_ATTRIBUTES
                }
                if not attrs:
                    continue
                problems = []
                _usage(attrs, problems)
                _costs(attrs, problems)
                warnings.extend(
                    f"span {span.span_id.hex()} ({span.name!r}): {problem}"
                    for problem in problems
                )
    return warnings


def warning_message(warnings):
    """The partial-success message: the first warnings in full, then a count."""
    shown = "; ".join(warnings[:MAX_WARNINGS])
    more = len(warnings) - MAX_WARNINGS
    suffix = f"; and {more} more" if more > 0 else ""
    return f"Dropped invalid usage or cost attributes (spans kept): {shown}{suffix}"
