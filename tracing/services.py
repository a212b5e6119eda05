"""Writes: accepting batches, merging their events, re-queueing stale batches.

Accepting a batch is one INSERT of the raw body, committed before the client
gets its answer; a worker then merges the events into traces, observations
and scores with bulk reads and writes, one transaction per batch.
"""

import json
import logging
from datetime import timedelta
from functools import cache
from types import SimpleNamespace

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import AutoField, F, JSONField
from django.utils import timezone

from prompts.models import PromptVersion

from .cost import load_project_prices, price_apply
from .ingestion import EventError, normalise_ingestion_event, normalise_score_item
from .model_prices import ModelPriceInputError
from .models import (
    BatchSource,
    IngestionBatch,
    ModelPrice,
    Observation,
    ProcessedEvent,
    Score,
    Trace,
)
from .otel import decode_export, export_events
from .reports import LLM_CALL_TYPES
from .repricing import reprice_start
from .rollups import hour_of, stale_hours_record

logger = logging.getLogger(__name__)

CONFLICT_RETRIES = 5
MAX_ATTEMPTS = 5
REQUEUE_AFTER = timedelta(minutes=1)
REQUEUE_LIMIT = 500
# Lock conflicts that a second try resolves: deadlock, serialisation failure.
RETRYABLE_SQLSTATES = {"40P01", "40001"}
# Values a fresh row holds before any event set them: older events may fill them.
EMPTY_DEFAULTS = {"level": "DEFAULT", "environment": "default", "public": False}
EARLIEST_WINS = {"timestamp", "start_time"}

TRACE_FIELDS = [
    "timestamp",
    "name",
    "user_id",
    "session_id",
    "release",
    "version",
    "input",
    "output",
    "metadata",
    "tags",
    "public",
    "environment",
    "last_event_at",
    "updated_at",
]
OBSERVATION_FIELDS = [
    "trace_id",
    "parent_observation_id",
    "type",
    "name",
    "start_time",
    "end_time",
    "completion_start_time",
    "model",
    "model_parameters",
    "input",
    "output",
    "metadata",
    "level",
    "status_message",
    "version",
    "environment",
    "provided_usage_details",
    "usage_details",
    "provided_cost_details",
    "cost_details",
    "total_cost",
    "price_source",
    "price_used",
    "prompt_version",
    "prompt_name",
    "prompt_version_number",
    "last_event_at",
    "updated_at",
]
SCORE_FIELDS = [
    "trace_id",
    "observation_id",
    "session_id",
    "dataset_run_id",
    "name",
    "value",
    "string_value",
    "data_type",
    "comment",
    "metadata",
    "source",
    "config_id",
    "environment",
    "timestamp",
    "updated_at",
]


# Accepting batches (request side) ---------------------------------------------


def _enqueue(batch_id):
    from .tasks import process_batch

    try:
        process_batch.delay(batch_id)
    except Exception:  # the sweep re-queues it; the client must not see an error
        logger.warning("Could not enqueue batch %s; the sweep will", batch_id)


def batch_store(
    *,
    project_id,
    source,
    events=None,
    payload=None,
    content_type="",
    sdk_version="",
    event_count=None,
):
    """Keep an accepted body, then enqueue its processing once committed."""
    count = event_count if event_count is not None else len(events or [])
    with transaction.atomic():
        batch = IngestionBatch.objects.create(
            project_id=project_id,
            source=source,
            events=events,
            payload=payload,
            content_type=content_type[:100],
            sdk_version=sdk_version[:40],
            event_count=count,
        )
        transaction.on_commit(lambda: _enqueue(batch.pk))
    logger.debug("Stored %s batch %s for project %s", source, batch.pk, project_id)
    return batch


def otel_batch_store(*, project_id, payload, content_type, sdk_version, span_count):
    return batch_store(
        project_id=project_id,
        source=BatchSource.OTEL,
        payload=payload,
        content_type=content_type,
        sdk_version=sdk_version,
        event_count=span_count,
    )


# Turning a batch into normalised events -------------------------------------------


def _ingestion_events(batch):
    events = []
    for raw in batch.events or []:
        try:
            event = normalise_ingestion_event(raw)
        except EventError as error:
            logger.warning("Dropped a stored event of batch %s: %s", batch.pk, error)
            continue
        if event is not None:
            events.append(event)
    return events


def _score_events(batch):
    events = []
    for item in batch.events or []:
        try:
            events.append(normalise_score_item(item, received_at=batch.received_at))
        except EventError as error:
            logger.warning("Dropped a stored score of batch %s: %s", batch.pk, error)
    return events


def batch_events(batch):
    """The normalised events of a stored batch, whatever its source."""
    if batch.source == BatchSource.INGESTION:
        return _ingestion_events(batch)
    if batch.source == BatchSource.SCORES:
        return _score_events(batch)
    request = decode_export(bytes(batch.payload or b""), batch.content_type)
    return export_events(request, sdk_version=batch.sdk_version)


def _without_processed(project_id, events):
    """Drop events whose envelope id was applied before, or twice in this batch."""
    event_ids = {event["event_id"] for event in events}
    seen = set(
        ProcessedEvent.objects.filter(
            project_id=project_id, event_id__in=event_ids
        ).values_list("event_id", flat=True)
    )
    fresh = []
    for event in events:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        fresh.append(event)
    return fresh


# Merging --------------------------------------------------------------------------


def _is_empty(name, value):
    return value in (None, "", [], {}) or EMPTY_DEFAULTS.get(name) == value


def _union(current, incoming):
    merged = list(current or [])
    merged.extend(tag for tag in incoming if tag not in merged)
    return merged


def _merged_value(name, current, value, *, newer):
    if name == "tags":
        return _union(current, value)
    if name == "metadata" and isinstance(current, dict) and isinstance(value, dict):
        return {**current, **value} if newer else {**value, **current}
    if name in EARLIEST_WINS and current is not None and not newer:
        return min(current, value)
    if newer or _is_empty(name, current):
        return value
    return current


def merge_event(row, event):
    """Apply one event: newer events overwrite, older ones only fill empty fields."""
    time = event["time"]
    newer = row.last_event_at is None or time >= row.last_event_at
    for name, value in event["fields"].items():
        current = getattr(row, name)
        setattr(row, name, _merged_value(name, current, value, newer=newer))
    if newer:
        row.last_event_at = time


@cache
def _field_defaults(model):
    """(attname, default, callable?) for the columns of a new row."""
    defaults = []
    for field in model._meta.concrete_fields:
        if isinstance(field, AutoField):
            continue
        default = field.default if field.has_default() else None
        defaults.append((field.attname, default, callable(default)))
    return defaults


def new_row(model, **values):
    """A new row as a plain object: building model instances costs more than
    merging them, and new rows are written with COPY (or turned into model
    instances for bulk_create on SQLite)."""
    row = SimpleNamespace()
    for attname, default, is_callable in _field_defaults(model):
        setattr(row, attname, default() if is_callable else default)
    for name, value in values.items():
        setattr(row, name, value)
    return row


def _locked(model, project_id, id_field, ids):
    if not ids:
        return {}
    rows = (
        model.objects.select_for_update()
        .filter(project_id=project_id, **{f"{id_field}__in": ids})
        .order_by(id_field)
    )
    return {getattr(row, id_field): row for row in rows}


class _Rows:
    """Existing rows (locked) and new rows of one model, by entity id."""

    def __init__(self, existing):
        self.existing = existing
        self.new = {}
        self.touched = {}

    def get(self, entity_id, factory):
        row = self.touched.get(entity_id)
        if row is None:
            row = self.existing.get(entity_id)
            if row is None:
                row = self.new[entity_id] = factory()
            self.touched[entity_id] = row
        return row

    def known(self, entity_id):
        return entity_id in self.existing or entity_id in self.new

    @property
    def changed(self):
        return [row for key, row in self.touched.items() if key not in self.new]


def _merge_observations(project_id, events):
    ids = {event["id"] for event in events}
    rows = _Rows(_locked(Observation, project_id, "observation_id", ids))
    rows.previous_starts = {
        entity_id: (row.start_time, row.type)
        for entity_id, row in rows.existing.items()
    }
    for event in events:
        row = rows.get(
            event["id"],
            lambda event=event: new_row(
                Observation,
                project_id=project_id,
                observation_id=event["id"],
                trace_id="",
            ),
        )
        merge_event(row, event)
        if row.start_time is None:
            row.start_time = event["time"]
    for row in rows.new.values():
        row.trace_id = row.trace_id or row.observation_id
    return rows


def _moved_call_hours(observation_rows):
    """The former hours of stored LLM calls whose start moved to another hour."""
    hours = set()
    for entity_id, (start, kind) in observation_rows.previous_starts.items():
        row = observation_rows.touched[entity_id]
        if kind not in LLM_CALL_TYPES and row.type not in LLM_CALL_TYPES:
            continue
        if hour_of(start) != hour_of(row.start_time):
            hours.add(hour_of(start))
    return hours


def _first_starts(observation_rows):
    """The earliest observation start per trace, for traces created thin."""
    starts = {}
    for row in observation_rows.touched.values():
        known = starts.get(row.trace_id)
        if known is None or row.start_time < known[0]:
            starts[row.trace_id] = (row.start_time, row.environment)
    return starts


def _merge_traces(project_id, events, existing, observation_rows):
    rows = _Rows(existing)
    for event in events:
        row = rows.get(
            event["id"],
            lambda event=event: new_row(
                Trace, project_id=project_id, trace_id=event["id"]
            ),
        )
        merge_event(row, event)
    starts = _first_starts(observation_rows)
    for trace_id, (start, environment) in starts.items():
        if not rows.known(trace_id):
            # A thin trace: its observations came first, or no root span yet.
            thin = rows.new[trace_id] = new_row(
                Trace,
                project_id=project_id,
                trace_id=trace_id,
                timestamp=start,
                environment=environment,
            )
            rows.touched[trace_id] = thin
    for trace_id, row in rows.new.items():
        if row.timestamp is None:
            row.timestamp = starts.get(trace_id, (row.last_event_at,))[0]
    return rows


def _merge_scores(project_id, events):
    ids = {event["id"] for event in events}
    rows = _Rows(_locked(Score, project_id, "score_id", ids))
    for event in events:
        row = rows.get(
            event["id"],
            lambda event=event: new_row(
                Score, project_id=project_id, score_id=event["id"]
            ),
        )
        for name, value in event["fields"].items():
            setattr(row, name, value)
    return rows


def _link_prompts(project_id, observations):
    wanted = {
        (row.prompt_name, row.prompt_version_number)
        for row in observations
        if row.prompt_name and row.prompt_version_number
    }
    if not wanted:
        return
    versions = PromptVersion.objects.filter(
        prompt__project_id=project_id,
        prompt__name__in={name for name, _ in wanted},
        number__in={number for _, number in wanted},
    ).values_list("prompt__name", "number", "id")
    found = {(name, number): pk for name, number, pk in versions}
    for row in observations:
        key = (row.prompt_name, row.prompt_version_number)
        row.prompt_version_id = found.get(key)


def _price(project_id, observations):
    project_prices = None
    for row in observations:
        if not (row.model or row.provided_usage_details or row.provided_cost_details):
            continue
        if project_prices is None:
            project_prices = load_project_prices(project_id)
        price_apply(row, project_prices)


def _column_value(field, now):
    """How COPY gets one column of a new row (auto_now fields set to ``now``)."""
    attname = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda row: now
    if isinstance(field, JSONField):
        encoder = field.encoder or DjangoJSONEncoder

        def as_json(row):
            value = getattr(row, attname)
            return None if value is None else json.dumps(value, cls=encoder)

        return as_json
    return lambda row: getattr(row, attname)


def _copy_insert(model, rows):
    """INSERT new rows with one COPY: Django's bulk path spends its time quoting.

    A row that another worker inserted meanwhile raises IntegrityError, and
    the batch is retried, as with bulk_create.
    """
    now = timezone.now()
    fields = [
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, AutoField)
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    values = [_column_value(field, now) for field in fields]
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row([value(row) for value in values])


def _insert(model, rows):
    if connection.vendor == "postgresql":
        _copy_insert(model, rows)
    else:
        model.objects.bulk_create([model(**vars(row)) for row in rows])


def _write(model, rows, fields):
    if rows.new:
        _insert(model, list(rows.new.values()))
    changed = rows.changed
    if changed:
        now = timezone.now()
        for row in changed:
            row.updated_at = now
        model.objects.bulk_update(changed, fields)


def apply_events(*, project_id, events):
    """Merge normalised events into rows, in Langfuse's order, and write them.

    Runs inside the caller's transaction; rows already stored are locked
    (traces first, then observations, then scores) so that two workers
    merging into the same trace take turns.
    """
    ordered = sorted(events, key=lambda event: (event["update"], event["time"]))
    by_entity = {"trace": [], "observation": [], "score": []}
    for event in ordered:
        by_entity[event["entity"]].append(event)
    trace_ids = {event["id"] for event in by_entity["trace"]}
    trace_ids.update(
        event["fields"]["trace_id"]
        for event in by_entity["observation"]
        if "trace_id" in event["fields"]
    )
    existing_traces = _locked(Trace, project_id, "trace_id", trace_ids)
    observations = _merge_observations(project_id, by_entity["observation"])
    missing = {row.trace_id for row in observations.touched.values()} - trace_ids
    existing_traces.update(_locked(Trace, project_id, "trace_id", missing))
    traces = _merge_traces(
        project_id, by_entity["trace"], existing_traces, observations
    )
    touched = list(observations.touched.values())
    _link_prompts(project_id, touched)
    _price(project_id, touched)
    scores = _merge_scores(project_id, by_entity["score"])
    _write(Trace, traces, TRACE_FIELDS)
    _write(Observation, observations, OBSERVATION_FIELDS)
    moved = _moved_call_hours(observations)
    if moved:
        stale_hours_record(project_id=project_id, hours=moved)
    _write(Score, scores, SCORE_FIELDS)
    return len(traces.touched), len(touched), len(scores.touched)


# Processing a stored batch ------------------------------------------------------


def _is_retryable(error):
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def _relax_commit():
    """Skip the WAL flush wait for this transaction (PostgreSQL).

    Safe here: the raw batch was committed durably when it was accepted, and
    a processing commit lost in a crash also loses its ``processed_at``, so
    the sweep processes the batch again.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _process_once(batch_id):
    with transaction.atomic():
        _relax_commit()
        batch = (
            IngestionBatch.objects.select_for_update(skip_locked=True)
            .filter(pk=batch_id)
            .first()
        )
        if batch is None:
            logger.info("Batch %s is gone or being processed elsewhere", batch_id)
            return False
        if batch.processed_at is not None:
            logger.info(
                "Batch %s of project %s was processed already",
                batch_id,
                batch.project_id,
            )
            return False
        events = batch_events(batch)
        deduplicate = batch.source == BatchSource.INGESTION
        if deduplicate:
            events = _without_processed(batch.project_id, events)
        counts = apply_events(project_id=batch.project_id, events=events)
        if deduplicate and events:
            ProcessedEvent.objects.bulk_create(
                [
                    ProcessedEvent(
                        project_id=batch.project_id, event_id=event["event_id"]
                    )
                    for event in events
                ],
                ignore_conflicts=True,
            )
        batch.processed_at = timezone.now()
        batch.last_error = ""
        batch.save(update_fields=["processed_at", "last_error"])
    logger.info(
        "Processed %s batch %s of project %s: %s traces, %s observations, %s scores",
        batch.source,
        batch_id,
        batch.project_id,
        *counts,
    )
    return True


def _record_failure(batch_id, error):
    IngestionBatch.objects.filter(pk=batch_id).update(
        attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
    )


def batch_process(*, batch_id):
    """Merge one stored batch; idempotent, and safe beside other workers.

    Returns True when this call processed the batch. Failures are recorded on
    the batch (the sweep retries it) rather than raised.
    """
    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            return _process_once(batch_id)
        except (IntegrityError, OperationalError) as error:
            if not _is_retryable(error) or attempt == CONFLICT_RETRIES:
                logger.exception("Batch %s failed on attempt %s", batch_id, attempt)
                _record_failure(batch_id, error)
                return False
            logger.info(
                "Batch %s met a concurrent writer (%s); retrying", batch_id, error
            )
        except Exception as error:  # recorded on the batch for the sweep and admin
            logger.exception("Batch %s cannot be processed", batch_id)
            _record_failure(batch_id, error)
            return False
    return False


def batches_requeue(*, older_than=REQUEUE_AFTER):
    """Re-queue batches accepted but still unprocessed; returns how many."""
    cutoff = timezone.now() - older_than
    stale = list(
        IngestionBatch.objects.filter(
            processed_at__isnull=True, received_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("received_at")
        .values_list("pk", "project_id", "attempts")[:REQUEUE_LIMIT]
    )
    if not stale:
        return 0
    IngestionBatch.objects.filter(pk__in=[pk for pk, _, _ in stale]).update(
        attempts=F("attempts") + 1
    )
    for pk, project_id, attempts in stale:
        if attempts + 1 >= MAX_ATTEMPTS:
            logger.error(
                "Batch %s of project %s is still unprocessed; last re-queue (%s)",
                pk,
                project_id,
                attempts + 1,
            )
        else:
            logger.warning(
                "Re-queueing batch %s of project %s (attempt %s)",
                pk,
                project_id,
                attempts + 1,
            )
        _enqueue(pk)
    return len(stale)


# Model prices -------------------------------------------------------------------


def _duplicate_check(project_id, model_name, start_date, exclude_pk=None):
    same = ModelPrice.objects.filter(
        project_id=project_id, model_name=model_name, start_date=start_date
    ).exclude(pk=exclude_pk)
    if same.exists():
        when = start_date.isoformat() if start_date else "no start date"
        raise ModelPriceInputError(
            "start_date", f"{model_name} already has a price from {when}"
        )


def model_price_create(
    *,
    project_id,
    model_name,
    match_pattern,
    start_date,
    unit,
    prices,
    tokenizer_id=None,
    tokenizer_config=None,
    user=None,
):
    """Add a price and re-price the calls it may now apply to.

    Returns ``(model_price, job)``; the job is the re-pricing.
    """
    with transaction.atomic():
        _duplicate_check(project_id, model_name, start_date)
        model_price = ModelPrice.objects.create(
            project_id=project_id,
            model_name=model_name,
            match_pattern=match_pattern,
            start_date=start_date,
            unit=unit,
            prices=prices,
            tokenizer_id=tokenizer_id,
            tokenizer_config=tokenizer_config,
        )
        job = reprice_start(
            project_id=project_id,
            patterns=[match_pattern],
            since=start_date,
            user=user,
        )
    logger.info(
        "Model price %s (%s) added to project %s",
        model_price.pk,
        model_name,
        project_id,
    )
    return model_price, job


def model_price_update(
    *, model_price, model_name, match_pattern, start_date, unit, prices, user=None
):
    """Change a price and re-price what the old or the new definition covered."""
    old_pattern, old_start = model_price.match_pattern, model_price.start_date
    with transaction.atomic():
        _duplicate_check(
            model_price.project_id, model_name, start_date, exclude_pk=model_price.pk
        )
        model_price.model_name = model_name
        model_price.match_pattern = match_pattern
        model_price.start_date = start_date
        model_price.unit = unit
        model_price.prices = prices
        model_price.save()
        # A price without start date reaches back to the first call.
        since = None if None in (old_start, start_date) else min(old_start, start_date)
        job = reprice_start(
            project_id=model_price.project_id,
            patterns=[old_pattern, match_pattern],
            since=since,
            user=user,
        )
    logger.info(
        "Model price %s (%s) of project %s changed",
        model_price.pk,
        model_name,
        model_price.project_id,
    )
    return model_price, job


def model_price_delete(*, model_price, user=None):
    """Delete a price and re-price the calls it applied to."""
    with transaction.atomic():
        model_price.delete()
        job = reprice_start(
            project_id=model_price.project_id,
            patterns=[model_price.match_pattern],
            since=model_price.start_date,
            user=user,
        )
    logger.info(
        "Model price %s (%s) of project %s deleted",
        model_price.model_name,
        model_price.match_pattern,
        model_price.project_id,
    )
    return job
