"""Validation and normalisation of Langfuse ingestion events and score bodies.

Every accepted event becomes a *normalised event*: a plain dict that the one
processor in ``services`` merges into traces, observations and scores,
whatever the wire format was (JSON batch, OTLP span, scores endpoint)::

    {"entity": "trace" | "observation" | "score", "id": str,
     "time": datetime, "update": bool, "event_id": str | None,
     "fields": {model field name: value}}

``fields`` only holds values the client provided (never ``None``), so the
merge can tell "not sent" from "sent".
"""

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from .models import Level, ObservationType, ScoreDataType

MAX_ENVELOPE_ID = 800
MAX_NAME = 1000
MAX_SCORE_TEXT = 500
# No call uses this many tokens of one kind; a larger count is a client bug,
# and left in it would swamp every usage total it is added to.
MAX_TOKENS = 10**12
# Far above any real call, and well inside the total_cost column.
MAX_COST = Decimal(1_000_000)
# Times that must not precede an observation's start, and how early they may be.
TIMES_AFTER_START = {
    "end_time": "endTime",
    "completion_start_time": "completionStartTime",
}
CLOCK_SLACK = timedelta(seconds=1)

OBSERVATION_EVENT_TYPES = {
    "span-create": ObservationType.SPAN,
    "span-update": ObservationType.SPAN,
    "generation-create": ObservationType.GENERATION,
    "generation-update": ObservationType.GENERATION,
    "event-create": ObservationType.EVENT,
    "agent-create": ObservationType.AGENT,
    "tool-create": ObservationType.TOOL,
    "chain-create": ObservationType.CHAIN,
    "retriever-create": ObservationType.RETRIEVER,
    "evaluator-create": ObservationType.EVALUATOR,
    "embedding-create": ObservationType.EMBEDDING,
    "guardrail-create": ObservationType.GUARDRAIL,
}
LEGACY_OBSERVATION_TYPES = {"observation-create", "observation-update"}
DROPPED_EVENT_TYPES = {"sdk-log"}
EVENT_TYPES = (
    set(OBSERVATION_EVENT_TYPES)
    | LEGACY_OBSERVATION_TYPES
    | DROPPED_EVENT_TYPES
    | {"trace-create", "score-create"}
)

ENVIRONMENT_PATTERN = re.compile(r"^[a-z0-9_-]+$")
LANGFUSE_PREFIX = re.compile(r"^(langfuse[-_]?)+")

OPENAI_DETAIL_KEYS = {
    # Chat Completions and Responses usage objects: (total key, detail key, our prefix)
    "input": ("prompt_tokens_details", "input_tokens_details"),
    "output": ("completion_tokens_details", "output_tokens_details"),
}


class EventError(ValueError):
    """An event (or one of its fields) is malformed; the message names the field."""


def normalise_environment(value):
    if not isinstance(value, str) or not value:
        return "default"
    value = LANGFUSE_PREFIX.sub("", value.strip().lower())[:40]
    return value if ENVIRONMENT_PATTERN.match(value) else "default"


def parse_timestamp(value, field, *, naive_is_utc=False):
    """An ISO-8601 date-time with a UTC offset; naive values name the field."""
    if not isinstance(value, str):
        raise EventError(f"{field}: must be an ISO-8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise EventError(f"{field}: {value!r} is not an ISO-8601 date-time") from error
    if parsed.tzinfo is None:
        if naive_is_utc:
            from datetime import UTC

            return parsed.replace(tzinfo=UTC)
        raise EventError(
            f"{field}: {value!r} has no UTC offset; send e.g. "
            "'2026-01-31T12:00:00Z' or '+02:00'"
        )
    return parsed


def _string(body, key, prefix, *, limit=None):
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{prefix}{key}: must be a string")
    if limit is not None and len(value) > limit:
        raise EventError(f"{prefix}{key}: longer than {limit} characters")
    return value


def _optional_time(body, key, prefix):
    value = body.get(key)
    if value is None:
        return None
    return parse_timestamp(value, f"{prefix}{key}")


def token_count(value):
    """``value`` as a token count: a whole number from 0 to MAX_TOKENS.

    Numbers and numeric strings are accepted ("12", 12.0); raises ValueError
    saying what is wrong otherwise.
    """
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError(f"must be a non-negative integer, got {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"must be a non-negative integer, got {value!r}")
    if number < 0:
        raise ValueError(f"token counts must not be negative, got {value!r}")
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(f"must be a whole number of tokens, got {value!r}")
    if number > MAX_TOKENS:
        raise ValueError(f"must be at most 10**12 tokens, got {value!r}")
    return int(number)


def _token_count(value, field):
    """A token count; ``None`` when not sent. Raises EventError naming ``field``."""
    if value is None:
        return None
    try:
        return token_count(value)
    except ValueError as error:
        raise EventError(f"{field}: {error}") from error


def cost_string(amount):
    """A Decimal amount in plain notation, as stored in JSON fields."""
    return format(amount.normalize(), "f") if amount else "0"


def usd_amount(value):
    """``value`` as a Decimal USD amount: finite, from 0 to MAX_COST.

    Numbers and numeric strings are accepted; raises ValueError saying what
    is wrong otherwise.
    """
    amount = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite():
        raise ValueError(f"must be a finite non-negative number, got {value!r}")
    if amount < 0:
        raise ValueError(f"costs must not be negative, got {value!r}")
    if amount > MAX_COST:
        raise ValueError(f"must be at most {MAX_COST} USD, got {value!r}")
    return amount


def cost_amount(value, field):
    """A USD amount; ``None`` when not sent. Raises EventError naming ``field``."""
    if value is None:
        return None
    try:
        return usd_amount(value)
    except ValueError as error:
        raise EventError(f"{field}: {error}") from error


def openai_usage(usage, prefix, count=_token_count):
    """OpenAI Chat Completions or Responses usage, details subtracted from totals.

    ``count(value, field)`` reads one token count (None to leave it out).
    """
    chat = "prompt_tokens" in usage or "completion_tokens" in usage
    names = (
        ("prompt_tokens", "completion_tokens")
        if chat
        else ("input_tokens", "output_tokens")
    )
    result = {}
    for side, name in zip(("input", "output"), names, strict=True):
        tokens = count(usage.get(name), f"{prefix}.{name}")
        detail_key = OPENAI_DETAIL_KEYS[side][0 if chat else 1]
        details = usage.get(detail_key) or {}
        if not isinstance(details, dict):
            details = {}
        for key, raw in details.items():
            detail = count(raw, f"{prefix}.{detail_key}.{key}")
            if detail is None:
                continue
            result[f"{side}_{key}"] = detail
            if tokens is not None:
                tokens = max(tokens - detail, 0)
        if tokens is not None:
            result[side] = tokens
    total = count(usage.get("total_tokens"), f"{prefix}.total_tokens")
    if total is not None:
        result["total"] = total
    return result


def is_openai_usage(usage):
    return (
        "prompt_tokens" in usage
        or "completion_tokens" in usage
        or ("input_tokens" in usage and "output_tokens" in usage)
    )


def is_breakdown(value):
    """A nested object or list in a usage map: structure, not a token count.

    The 2.x LangChain handler passes provider usage through, nested parts
    such as Anthropic's ``cache_creation`` object included; they are left
    out rather than failing the call they came with.
    """
    return isinstance(value, dict | list)


def normalise_usage_details(usage, prefix):
    """A usage map (or an OpenAI usage object) as ``{key: non-negative int}``."""
    if not isinstance(usage, dict):
        raise EventError(f"{prefix}: must be an object of token counts")
    if is_openai_usage(usage):
        return openai_usage(usage, prefix)
    result = {}
    for key, raw in usage.items():
        if is_breakdown(raw):
            continue
        count = _token_count(raw, f"{prefix}.{key}")
        if count is not None:
            result[str(key)] = count
    return result


def normalise_cost_details(costs, prefix):
    if not isinstance(costs, dict):
        raise EventError(f"{prefix}: must be an object of USD amounts")
    result = {}
    for key, raw in costs.items():
        amount = cost_amount(raw, f"{prefix}.{key}")
        if amount is not None:
            result[str(key)] = cost_string(amount)
    return result


LEGACY_USAGE_KEYS = {
    "input": "input",
    "output": "output",
    "total": "total",
    "promptTokens": "input",
    "completionTokens": "output",
    "totalTokens": "total",
}
LEGACY_COST_KEYS = {"inputCost": "input", "outputCost": "output", "totalCost": "total"}


def _legacy_usage(usage, prefix):
    """The deprecated ``usage`` object: token counts and optional costs."""
    if not isinstance(usage, dict):
        raise EventError(f"{prefix}: must be an object")
    if is_openai_usage(usage):
        return openai_usage(usage, prefix), {}
    tokens, costs = {}, {}
    for key, target in LEGACY_USAGE_KEYS.items():
        count = _token_count(usage.get(key), f"{prefix}.{key}")
        if count is not None:
            tokens[target] = count
    for key, target in LEGACY_COST_KEYS.items():
        amount = cost_amount(usage.get(key), f"{prefix}.{key}")
        if amount is not None:
            costs[target] = cost_string(amount)
    return tokens, costs


def _prompt_link(body, prefix):
    name, version = body.get("promptName"), body.get("promptVersion")
    if (name is None) != (version is None):
        raise EventError(
            f"{prefix}promptName, {prefix}promptVersion: send both or neither"
        )
    if name is None:
        return {}
    if not isinstance(name, str) or not name:
        raise EventError(f"{prefix}promptName: must be a non-empty string")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise EventError(f"{prefix}promptVersion: must be a positive integer")
    return {"prompt_name": name, "prompt_version_number": version}


def _level(body, prefix):
    level = body.get("level")
    if level is None:
        return None
    if level not in Level.values:
        raise EventError(f"{prefix}level: must be one of {', '.join(Level.values)}")
    return level


def _check_cost_sum(costs, field):
    """The parts must add up to a storable total, as each part must be one."""
    parts = sum(
        (Decimal(amount) for key, amount in costs.items() if key != "total"),
        Decimal(0),
    )
    if parts > MAX_COST:
        raise EventError(
            f"{field}: the costs add up to more than {MAX_COST} USD ({parts})"
        )


def _generation_fields(body, prefix):
    fields = {
        "completion_start_time": _optional_time(body, "completionStartTime", prefix),
        "model": _string(body, "model", prefix, limit=255),
    }
    parameters = body.get("modelParameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise EventError(f"{prefix}modelParameters: must be an object")
    fields["model_parameters"] = parameters
    usage, costs = {}, {}
    if body.get("usage") is not None:
        usage, costs = _legacy_usage(body["usage"], f"{prefix}usage")
    if body.get("usageDetails") is not None:
        usage.update(
            normalise_usage_details(body["usageDetails"], f"{prefix}usageDetails")
        )
    if body.get("costDetails") is not None:
        costs.update(
            normalise_cost_details(body["costDetails"], f"{prefix}costDetails")
        )
    cost_field = "costDetails" if body.get("costDetails") is not None else "usage"
    _check_cost_sum(costs, f"{prefix}{cost_field}")
    fields["provided_usage_details"] = usage or None
    fields["provided_cost_details"] = costs or None
    fields.update(_prompt_link(body, prefix))
    return fields


def _check_time_order(fields, prefix):
    """An observation cannot end, or start answering, before it starts.

    Within CLOCK_SLACK it may: SDKs stamp the start themselves, after the
    caller read the clock for its first token (captured 2.x traffic has
    the completion start 17 microseconds early).
    """
    start = fields["start_time"]
    if start is None:
        return
    for key, name in TIMES_AFTER_START.items():
        moment = fields.get(key)
        if moment is not None and moment < start - CLOCK_SLACK:
            raise EventError(
                f"{prefix}{name}: {moment.isoformat()} is before "
                f"{prefix}startTime ({start.isoformat()})"
            )


def _observation_event(envelope, observation_type, *, update):
    body, prefix = envelope["body"], "body."
    observation_id = _string(body, "id", prefix, limit=255)
    if not observation_id:
        raise EventError("body.id: required")
    fields = {
        "trace_id": _string(body, "traceId", prefix, limit=255),
        "parent_observation_id": _string(body, "parentObservationId", prefix),
        "type": observation_type,
        "name": _string(body, "name", prefix, limit=MAX_NAME),
        "start_time": _optional_time(body, "startTime", prefix),
        "end_time": _optional_time(body, "endTime", prefix),
        "input": body.get("input"),
        "output": body.get("output"),
        "metadata": body.get("metadata"),
        "level": _level(body, prefix),
        "status_message": _string(body, "statusMessage", prefix),
        "version": _string(body, "version", prefix, limit=255),
    }
    if body.get("environment") is not None:
        fields["environment"] = normalise_environment(body["environment"])
    if observation_type == ObservationType.EVENT and fields["start_time"]:
        fields["end_time"] = fields["end_time"] or fields["start_time"]
    fields.update(_generation_fields(body, prefix))
    _check_time_order(fields, prefix)
    if not update and not fields["trace_id"]:
        # A traceless observation gets a trace of its own, named after it, so
        # a re-sent batch lands on the same trace.
        fields["trace_id"] = observation_id
    return _event("observation", observation_id, envelope, fields, update=update)


def _legacy_observation_event(envelope):
    raw_type = envelope["body"].get("type")
    if raw_type not in {"SPAN", "GENERATION", "EVENT"}:
        raise EventError("body.type: must be SPAN, GENERATION or EVENT")
    update = envelope["type"] == "observation-update"
    return _observation_event(envelope, raw_type, update=update)


def _tags(body, prefix):
    tags = body.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise EventError(f"{prefix}tags: must be a list of strings")
    return tags


def _trace_event(envelope):
    body, prefix = envelope["body"], "body."
    trace_id = _string(body, "id", prefix, limit=255) or str(
        uuid.uuid5(uuid.NAMESPACE_URL, envelope["id"])
    )
    public = body.get("public")
    if public is not None and not isinstance(public, bool):
        raise EventError("body.public: must be true or false")
    fields = {
        "timestamp": _optional_time(body, "timestamp", prefix),
        "name": _string(body, "name", prefix, limit=MAX_NAME),
        "user_id": _string(body, "userId", prefix, limit=255),
        "session_id": _string(body, "sessionId", prefix, limit=255),
        "release": _string(body, "release", prefix, limit=255),
        "version": _string(body, "version", prefix, limit=255),
        "input": body.get("input"),
        "output": body.get("output"),
        "metadata": body.get("metadata"),
        "tags": _tags(body, prefix),
        "public": public,
    }
    if body.get("environment") is not None:
        fields["environment"] = normalise_environment(body["environment"])
    return _event("trace", trace_id, envelope, fields, update=False)


def score_fields(body, prefix="body."):
    """The fields of one score body (batch event or scores endpoint item)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EventError(f"{prefix}name: required, a non-empty string")
    value, data_type = body.get("value"), body.get("dataType")
    if data_type is not None and data_type not in ScoreDataType.values:
        raise EventError(
            f"{prefix}dataType: must be one of {', '.join(ScoreDataType.values)}"
        )
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EventError(f"{prefix}value: required, a number or a string")
    if data_type is None:
        data_type = (
            ScoreDataType.CATEGORICAL
            if isinstance(value, str)
            else ScoreDataType.NUMERIC
        )
    numeric = data_type in (ScoreDataType.NUMERIC, ScoreDataType.BOOLEAN)
    if numeric and isinstance(value, str):
        raise EventError(f"{prefix}value: a {data_type} score needs a number")
    if not numeric and not isinstance(value, str):
        raise EventError(f"{prefix}value: a {data_type} score needs a string")
    if data_type == ScoreDataType.BOOLEAN and value not in (0, 1):
        raise EventError(f"{prefix}value: a BOOLEAN score is 0 or 1")
    if data_type == ScoreDataType.TEXT and not 1 <= len(value) <= MAX_SCORE_TEXT:
        raise EventError(f"{prefix}value: a TEXT score has 1 to 500 characters")
    fields = {
        "name": name,
        "data_type": data_type,
        "value": float(value) if numeric else None,
        "string_value": value if not numeric else None,
        "trace_id": _string(body, "traceId", prefix, limit=255),
        "observation_id": _string(body, "observationId", prefix, limit=255),
        "session_id": _string(body, "sessionId", prefix, limit=255),
        "dataset_run_id": _string(body, "datasetRunId", prefix, limit=255),
        "comment": _string(body, "comment", prefix),
        "metadata": body.get("metadata"),
        "config_id": _string(body, "configId", prefix, limit=255),
        "source": _string(body, "source", prefix, limit=20) or "API",
        "environment": normalise_environment(body.get("environment")),
        "timestamp": _optional_time(body, "timestamp", prefix),
    }
    if not (fields["trace_id"] or fields["session_id"] or fields["dataset_run_id"]):
        raise EventError(
            f"{prefix}traceId: a score needs a traceId, sessionId or datasetRunId"
        )
    if numeric and data_type == ScoreDataType.BOOLEAN:
        fields["string_value"] = "True" if value == 1 else "False"
    return fields


def _score_event(envelope):
    body = envelope["body"]
    score_id = _string(body, "id", "body.", limit=255) or str(
        uuid.uuid5(uuid.NAMESPACE_URL, envelope["id"])
    )
    fields = score_fields(body)
    fields["timestamp"] = fields["timestamp"] or envelope["time"]
    return _event("score", score_id, envelope, fields, update=False)


def _event(entity, entity_id, envelope, fields, *, update):
    return {
        "entity": entity,
        "id": entity_id,
        "time": envelope["time"],
        "update": update,
        "event_id": envelope["id"],
        "fields": {key: value for key, value in fields.items() if value is not None},
    }


def check_envelope(event):
    """Validate the envelope; returns ``(id, type)``. Raises EventError."""
    if not isinstance(event, dict):
        raise EventError("event: must be an object")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_ENVELOPE_ID:
        raise EventError("id: required, a string of 1 to 800 characters")
    if "\r" in event_id:
        raise EventError("id: must not contain a carriage return")
    event_type = event.get("type")
    if event_type == "dataset-run-item-create":
        raise EventError("type: dataset-run-item-create is internal to Langfuse")
    if event_type not in EVENT_TYPES:
        raise EventError(f"type: unknown event type {event_type!r}")
    parse_timestamp(event.get("timestamp"), "timestamp")
    if not isinstance(event.get("body"), dict):
        raise EventError("body: required, an object")
    return event_id, event_type


def normalise_ingestion_event(event):
    """One validated batch event as a normalised event, or ``None`` to drop it.

    Raises EventError naming the field when the event is malformed.
    """
    _, event_type = check_envelope(event)
    if event_type in DROPPED_EVENT_TYPES:
        return None
    envelope = {
        "id": event["id"],
        "type": event_type,
        "time": parse_timestamp(event["timestamp"], "timestamp"),
        "body": event["body"],
    }
    if event_type == "trace-create":
        return _trace_event(envelope)
    if event_type == "score-create":
        return _score_event(envelope)
    if event_type in LEGACY_OBSERVATION_TYPES:
        return _legacy_observation_event(envelope)
    return _observation_event(
        envelope,
        OBSERVATION_EVENT_TYPES[event_type],
        update=event_type.endswith("-update"),
    )


def normalise_score_item(item, *, prefix="", received_at):
    """One item of ``POST /scores`` (its id already assigned) as a normalised event."""
    if not isinstance(item, dict):
        raise EventError(f"{prefix or 'body'}: a score must be an object")
    fields = score_fields(item, prefix)
    fields["timestamp"] = fields["timestamp"] or received_at
    return {
        "entity": "score",
        "id": item["id"],
        "time": fields["timestamp"],
        "update": False,
        "event_id": None,
        "fields": {key: value for key, value in fields.items() if value is not None},
    }


def validate_batch(batch):
    """Split batch events into those to store and the 207 answer entries.

    Returns ``(to_store, successes, errors)``. ``sdk-log`` events succeed
    but are not stored.
    """
    to_store, successes, errors = [], [], []
    for event in batch:
        event_id = event.get("id") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id:
            event_id = "unknown"
        try:
            normalised = normalise_ingestion_event(event)
        except EventError as error:
            errors.append(
                {
                    "id": event_id,
                    "status": 400,
                    "message": f"Invalid event: {error}",
                    "error": "InvalidRequestError",
                }
            )
            continue
        successes.append({"id": event_id, "status": 201})
        if normalised is not None:
            to_store.append(event)
    return to_store, successes, errors
