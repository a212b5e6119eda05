"""The processor: ordering, merging, dedup, thin traces, retries and the sweep."""

import logging
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from prompts.models import Prompt, PromptVersion
from tracing import services
from tracing.models import (
    BatchSource,
    IngestionBatch,
    Observation,
    ProcessedEvent,
    Trace,
)
from tracing.tasks import requeue_unprocessed_batches

URL = "/api/public/ingestion"


def event(event_type, body, event_id, timestamp):
    return {
        "id": event_id,
        "type": event_type,
        "timestamp": f"2026-12-03T18:00:{timestamp:02d}Z",
        "body": body,
    }


def store(project, events):
    """Store a batch without processing it (as if the broker lost the message)."""
    return IngestionBatch.objects.create(
        project=project, source=BatchSource.INGESTION, events=events
    )


def test_an_update_arriving_before_its_create_ends_right(project):
    update = event(
        "generation-update",
        {
            "id": "g",
            "traceId": "t",
            "output": "final",
            "endTime": "2026-12-03T18:00:09Z",
        },
        "u",
        9,
    )
    create = event(
        "generation-create",
        {
            "id": "g",
            "traceId": "t",
            "name": "call",
            "output": "partial",
            "model": "gpt-4o-mini",
            "startTime": "2026-12-03T18:00:01Z",
        },
        "c",
        1,
    )
    services.batch_process(batch_id=store(project, [update]).pk)
    services.batch_process(batch_id=store(project, [create]).pk)

    generation = Observation.objects.get(observation_id="g")
    assert generation.output == "final"
    assert generation.name == "call"
    assert generation.model == "gpt-4o-mini"
    assert generation.start_time.isoformat() == "2026-12-03T18:00:01+00:00"
    assert generation.end_time.isoformat() == "2026-12-03T18:00:09+00:00"


def test_updates_in_one_batch_apply_after_creates_of_the_same_time(project):
    # Clock resolution can give both envelopes one timestamp: the update wins.
    update = event("span-update", {"id": "s", "output": "new"}, "u", 5)
    create = event("span-create", {"id": "s", "traceId": "t", "output": "old"}, "c", 5)

    services.batch_process(batch_id=store(project, [update, create]).pk)

    assert Observation.objects.get(observation_id="s").output == "new"


def test_repeated_trace_creates_merge_instead_of_wiping_fields(project):
    first = event(
        "trace-create",
        {"id": "t", "name": "n", "userId": "u", "tags": ["a"], "metadata": {"x": 1}},
        "e1",
        1,
    )
    second = event(
        "trace-create",
        {"id": "t", "output": "done", "tags": ["b"], "metadata": {"y": 2}},
        "e2",
        2,
    )
    services.batch_process(batch_id=store(project, [first]).pk)
    services.batch_process(batch_id=store(project, [second]).pk)

    trace = Trace.objects.get(trace_id="t")
    assert (trace.name, trace.user_id, trace.output) == ("n", "u", "done")
    assert trace.tags == ["a", "b"]
    assert trace.metadata == {"x": 1, "y": 2}


def test_an_older_trace_event_only_fills_empty_fields(project):
    newer = event("trace-create", {"id": "t", "name": "new"}, "e2", 9)
    older = event("trace-create", {"id": "t", "name": "old", "userId": "u"}, "e1", 1)
    services.batch_process(batch_id=store(project, [newer]).pk)
    services.batch_process(batch_id=store(project, [older]).pk)

    trace = Trace.objects.get(trace_id="t")
    assert (trace.name, trace.user_id) == ("new", "u")


def test_an_observation_of_an_unknown_trace_gets_a_thin_trace(project):
    span = event(
        "span-create",
        {"id": "s", "traceId": "unknown", "startTime": "2026-12-03T17:59:00Z"},
        "c",
        1,
    )

    services.batch_process(batch_id=store(project, [span]).pk)

    trace = Trace.objects.get(trace_id="unknown")
    assert trace.timestamp.isoformat() == "2026-12-03T17:59:00+00:00"
    assert trace.name is None
    assert trace.last_event_at is None


def test_the_same_event_id_in_two_batches_is_applied_once(project):
    create = event("span-create", {"id": "s", "traceId": "t", "output": "a"}, "same", 1)
    changed = event(
        "span-create", {"id": "s", "traceId": "t", "output": "b"}, "same", 2
    )

    services.batch_process(batch_id=store(project, [create]).pk)
    services.batch_process(batch_id=store(project, [changed]).pk)

    assert Observation.objects.get(observation_id="s").output == "a"


def test_processing_the_same_batch_twice_changes_nothing(project):
    events = [
        event("trace-create", {"id": "t", "tags": ["x"]}, "e1", 1),
        event(
            "generation-create",
            {
                "id": "g",
                "traceId": "t",
                "model": "o3-mini",
                "usageDetails": {"input": 10, "output": 4},
            },
            "e2",
            2,
        ),
    ]
    batch = store(project, events)
    services.batch_process(batch_id=batch.pk)
    before = Observation.objects.values().get()

    assert services.batch_process(batch_id=batch.pk) is False
    # As if a worker died after applying but before recording it.
    IngestionBatch.objects.filter(pk=batch.pk).update(processed_at=None)
    ProcessedEvent.objects.all().delete()
    assert services.batch_process(batch_id=batch.pk) is True

    after = Observation.objects.values().get()
    before.pop("updated_at")
    after.pop("updated_at")
    assert after == before
    assert Trace.objects.get().tags == ["x"]


def test_generations_link_to_the_prompt_version_when_it_exists(project):
    prompt = Prompt.objects.create(project=project, name="quiz", type="text")
    version = PromptVersion.objects.create(prompt=prompt, number=2, content="x")
    events = [
        event(
            "generation-create",
            {"id": "g1", "traceId": "t", "promptName": "quiz", "promptVersion": 2},
            "e1",
            1,
        ),
        event(
            "generation-create",
            {"id": "g2", "traceId": "t", "promptName": "quiz", "promptVersion": 9},
            "e2",
            2,
        ),
    ]

    services.batch_process(batch_id=store(project, events).pk)

    linked = Observation.objects.get(observation_id="g1")
    unlinked = Observation.objects.get(observation_id="g2")
    assert linked.prompt_version == version
    assert unlinked.prompt_version is None
    assert (unlinked.prompt_name, unlinked.prompt_version_number) == ("quiz", 9)


def test_another_project_s_prompt_is_never_linked(project, other_project):
    prompt = Prompt.objects.create(project=other_project, name="quiz", type="text")
    PromptVersion.objects.create(prompt=prompt, number=1, content="x")
    events = [
        event(
            "generation-create",
            {"id": "g", "traceId": "t", "promptName": "quiz", "promptVersion": 1},
            "e1",
            1,
        )
    ]

    services.batch_process(batch_id=store(project, events).pk)

    assert Observation.objects.get(observation_id="g").prompt_version is None


def test_a_conflict_with_another_worker_retries_the_batch(project, monkeypatch):
    batch = store(project, [event("trace-create", {"id": "t", "name": "n"}, "e", 1)])
    real_apply = services.apply_events
    calls = []

    def conflicting_apply(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_apply(**kwargs)

    monkeypatch.setattr(services, "apply_events", conflicting_apply)

    assert services.batch_process(batch_id=batch.pk) is True
    assert len(calls) == 2
    assert Trace.objects.get().name == "n"


def test_a_failing_batch_records_the_error_and_stays_unprocessed(
    project, monkeypatch, caplog
):
    batch = store(project, [event("trace-create", {"id": "t"}, "e", 1)])

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "apply_events", broken)
    with caplog.at_level(logging.ERROR, logger="tracing.services"):
        assert services.batch_process(batch_id=batch.pk) is False

    batch.refresh_from_db()
    assert batch.processed_at is None
    assert batch.attempts == 1
    assert "boom" in batch.last_error
    assert str(batch.pk) in caplog.text
    assert Trace.objects.count() == 0


def test_the_sweep_requeues_stale_batches_and_counts_attempts(project, caplog):
    stale = store(project, [event("trace-create", {"id": "t"}, "e", 1)])
    fresh = store(project, [event("trace-create", {"id": "u"}, "f", 1)])
    IngestionBatch.objects.filter(pk=stale.pk).update(
        received_at=timezone.now() - timedelta(minutes=2)
    )

    with caplog.at_level(logging.WARNING, logger="tracing.services"):
        requeue_unprocessed_batches()

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.processed_at is not None
    assert stale.attempts == 1
    assert fresh.processed_at is None
    assert f"batch {stale.pk} of project {project.pk}" in caplog.text
    assert list(Trace.objects.values_list("trace_id", flat=True)) == ["t"]


def test_the_sweep_gives_up_after_the_last_attempt(project, monkeypatch, caplog):
    batch = store(project, [event("trace-create", {"id": "t"}, "e", 1)])
    IngestionBatch.objects.filter(pk=batch.pk).update(
        received_at=timezone.now() - timedelta(minutes=5),
        attempts=services.MAX_ATTEMPTS - 1,
    )
    monkeypatch.setattr(services, "_enqueue", lambda batch_id: None)

    with caplog.at_level(logging.ERROR, logger="tracing.services"):
        assert services.batches_requeue() == 1
        assert services.batches_requeue() == 0

    assert "last re-queue" in caplog.text
    batch.refresh_from_db()
    assert batch.attempts == services.MAX_ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_the_batch_is_enqueued_only_after_commit(api, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "_enqueue", queued.append)
    body = {"batch": [event("trace-create", {"id": "t"}, "e", 1)]}

    response = api.post(URL, data=body, content_type="application/json")

    assert response.status_code == 207
    batch = IngestionBatch.objects.get()
    assert queued == [batch.pk]
    assert batch.processed_at is None
