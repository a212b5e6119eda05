"""Re-pricing: after a model price changes, the calls it may affect are priced again.

A change can only affect calls whose model matches the old or the new match
pattern and that started on or after the earliest start date involved. Those
are priced again with the same code as ingestion (tracing.cost), chunk by
chunk, and the hours whose cost changed are rolled up again. Calls with a
cost the client reported keep it. Running a job twice changes nothing more.
"""

import logging
from datetime import datetime
from itertools import groupby

from django.db import transaction

from workbench.models import Project

from . import rollups
from .cost import load_project_prices, price_apply
from .jobs import job_start, runner
from .models import JobKind, Observation, PriceSource
from .price_patterns import PatternError, pattern_compile, pattern_search

logger = logging.getLogger(__name__)

CHUNK = 500
# Days of hour buckets rebuilt in one roll-up transaction.
ROLLUP_DAYS = 7
PRICED_FIELDS = [
    "usage_details",
    "cost_details",
    "total_cost",
    "price_source",
    "price_used",
]


def reprice_start(*, project_id, patterns, since, user=None):
    """Queue a re-pricing of the calls ``patterns`` match from ``since`` (None: all).

    Call inside the transaction that changes the price: the job is handed
    to a worker when it commits, and never if it rolls back.
    """
    params = {
        "patterns": sorted(set(patterns)),
        "since": since.isoformat() if since else None,
    }
    project = Project.objects.get(pk=project_id)
    return job_start(project=project, kind=JobKind.REPRICE, params=params, user=user)


def _compiled(patterns):
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(pattern_compile(pattern))
        except PatternError:
            # Such a price never matched anything, so nothing needs re-pricing.
            logger.warning("Skipping invalid match pattern %r", pattern)
    return compiled


def _calls_since(project_id, since):
    calls = Observation.objects.filter(project_id=project_id, model__isnull=False)
    return calls if since is None else calls.filter(start_time__gte=since)


def matching_models(project_id, patterns, since):
    """The model names of the project's calls since ``since`` a pattern matches.

    Patterns are Python regexes, as tracing.cost applies them, so they are
    matched here rather than in the database.
    """
    compiled = _compiled(patterns)
    names = _calls_since(project_id, since).values_list("model", flat=True)
    return sorted(
        name
        for name in names.distinct().order_by()
        if name
        and any(
            pattern_search(p, name, source=f"project {project_id}") for p in compiled
        )
    )


def repriceable(project_id, patterns, since):
    """The calls a change of these patterns may re-price: not reported costs."""
    models = matching_models(project_id, patterns, since)
    return (
        _calls_since(project_id, since)
        .filter(model__in=models)
        .exclude(price_source=PriceSource.REPORTED)
    )


def _reprice_chunk(project_id, calls, after_pk):
    """Price the next chunk of ``calls`` after ``after_pk``: ``(rows, changed)``.

    The rows are locked before the prices are read, so a price saved while
    this chunk runs is either seen here or applied by its own job after.
    """
    with transaction.atomic():
        rows = list(
            calls.filter(pk__gt=after_pk).order_by("pk").select_for_update()[:CHUNK]
        )
        if not rows:
            return [], []
        prices = load_project_prices(project_id)
        changed = []
        for row in rows:
            before = [getattr(row, name) for name in PRICED_FIELDS]
            price_apply(row, prices)
            if [getattr(row, name) for name in PRICED_FIELDS] != before:
                changed.append(row)
        if changed:
            Observation.objects.bulk_update(changed, PRICED_FIELDS)
    return rows, changed


def _rebuild_buckets(project_id, hours):
    """Roll the hours up again, a few days per transaction."""
    by_day = groupby(sorted(hours), key=rollups.day_of)
    days = [list(day_hours) for _, day_hours in by_day]
    for start in range(0, len(days), ROLLUP_DAYS):
        batch = [hour for day in days[start : start + ROLLUP_DAYS] for hour in day]
        rollups.rollup_hours(project_id=project_id, hours=batch)


def observations_reprice(*, project_id, patterns, since, progress=None):
    """Re-price the calls the patterns match since ``since``; returns a summary."""
    calls = repriceable(project_id, patterns, since)
    total = calls.count()
    if progress:
        progress(0, total)
    done, changed_count, hours, last_pk = 0, 0, set(), 0
    while True:
        rows, changed = _reprice_chunk(project_id, calls, last_pk)
        if not rows:
            break
        last_pk = rows[-1].pk
        changed_count += len(changed)
        hours.update(rollups.hour_of(row.start_time) for row in changed)
        done += len(rows)
        # Calls ingested while the job runs may make it more than counted.
        total = max(total, done)
        if progress:
            progress(done, total)
    _rebuild_buckets(project_id, hours)
    logger.info(
        "Re-priced %s calls of project %s (%s changed, %s hours rolled up again)",
        done,
        project_id,
        changed_count,
        len(hours),
    )
    return (
        f"Re-priced {done} call{'s' if done != 1 else ''}: "
        f"{changed_count} changed cost, {len(hours)} hour"
        f"{'s' if len(hours) != 1 else ''} of reports rebuilt."
    )


@runner(JobKind.REPRICE)
def reprice_job(job, progress):
    since = job.params.get("since")
    return observations_reprice(
        project_id=job.project_id,
        patterns=job.params.get("patterns") or [],
        since=datetime.fromisoformat(since) if since else None,
        progress=progress,
    )
