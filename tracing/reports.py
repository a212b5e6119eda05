"""Aggregate reads of raw observations behind the trace list, and the usage
keys and call types the roll-ups count.

Every function here is one aggregate query, so a page's query count does
not grow with the number of traces or generations. Cost reports read the
roll-ups instead (``tracing.usage``).
"""

from django.db.models import (
    Count,
    Exists,
    FloatField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from .models import Observation, ObservationType, PriceSource, Trace

# Usage keys as ingestion normalises them: cached and cache-creation tokens are
# kept apart from "input", reasoning and audio tokens apart from "output", so
# the sum of the parts is the whole and nothing is counted twice.
INPUT_USAGE_KEYS = (
    "input",
    "input_cached_tokens",
    "input_cache_creation",
    "input_audio_tokens",
)
OUTPUT_USAGE_KEYS = ("output", "output_reasoning_tokens", "output_audio_tokens")
LLM_CALL_TYPES = (ObservationType.GENERATION, ObservationType.EMBEDDING)
# A call with usage that no price matched. Calls without usage (typically
# failed requests) have nothing to price, so they are not flagged.
UNPRICED = Q(total_cost__isnull=True, price_source=PriceSource.UNKNOWN) & ~Q(
    usage_details={}
)


def usage_tokens(keys, prefix=""):
    """An expression adding up the ``usage_details`` entries named ``keys``."""
    parts = [
        Coalesce(Cast(KT(f"{prefix}usage_details__{key}"), FloatField()), Value(0.0))
        for key in keys
    ]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _per_trace(aggregate):
    """A subquery giving ``aggregate`` over the observations of the outer trace."""
    observations = (
        Observation.objects.filter(
            project_id=OuterRef("project_id"), trace_id=OuterRef("trace_id")
        )
        .order_by()
        .values("trace_id")
        .annotate(value=aggregate)
        .values("value")[:1]
    )
    return Subquery(observations)


def traces_with_totals(project):
    """The project's traces, each annotated with its observations' totals.

    Annotations: ``observation_count``, ``input_tokens``, ``output_tokens``,
    ``total_cost``, ``has_unpriced``, ``has_error``, ``first_start`` and
    ``last_end``. They are correlated subqueries, so a page of traces is one
    query however many observations each trace holds.
    """
    observations = Observation.objects.filter(
        project_id=OuterRef("project_id"), trace_id=OuterRef("trace_id")
    )
    return Trace.objects.filter(project=project).annotate(
        observation_count=Coalesce(_per_trace(Count("id")), 0),
        input_tokens=_per_trace(Sum(usage_tokens(INPUT_USAGE_KEYS))),
        output_tokens=_per_trace(Sum(usage_tokens(OUTPUT_USAGE_KEYS))),
        total_cost=_per_trace(Sum("total_cost")),
        first_start=_per_trace(Min("start_time")),
        last_end=_per_trace(Max("end_time")),
        has_unpriced=Exists(observations.filter(UNPRICED)),
        has_error=Exists(observations.filter(level="ERROR")),
    )
