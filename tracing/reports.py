"""Aggregate reads behind the trace list and the cost overview.

Every function here is one aggregate query (or one query per window), so a
page's query count does not grow with the number of traces or generations.
The cost overview reads raw observations; a Celery roll-up will replace that.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

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
from django.utils import timezone

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
NO_PROMPT = "(no prompt)"
NO_MODEL = "(no model)"
# A call with usage that no price matched. Calls without usage (typically
# failed requests) have nothing to price, so they are not flagged.
UNPRICED = Q(total_cost__isnull=True, price_source=PriceSource.UNKNOWN) & ~Q(
    usage_details={}
)

REPORT_WINDOWS = (
    ("Last 24 hours", timedelta(days=1)),
    ("Last 7 days", timedelta(days=7)),
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


def llm_calls(project, since):
    """Generations and embeddings of ``project`` that started at or after ``since``."""
    return Observation.objects.filter(
        project=project, type__in=LLM_CALL_TYPES, start_time__gte=since
    )


@dataclass
class SpendRow:
    key: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    unpriced_calls: int
    share: float = 0.0

    @property
    def share_percent(self):
        return round(self.share * 100, 1)

    @property
    def priced_calls(self):
        return self.calls - self.unpriced_calls

    @property
    def cost_per_call(self):
        """Average over priced calls only: unpriced ones would drag it to zero."""
        return self.cost / self.priced_calls if self.priced_calls else None


def _spend_rows(calls, group_by, missing):
    rows = (
        calls.order_by()
        .values(group_by)
        .annotate(
            calls=Count("id"),
            input_tokens=Sum(usage_tokens(INPUT_USAGE_KEYS)),
            output_tokens=Sum(usage_tokens(OUTPUT_USAGE_KEYS)),
            cost=Sum("total_cost"),
            unpriced_calls=Count("id", filter=UNPRICED),
        )
    )
    spend = [
        SpendRow(
            key=row[group_by] or missing,
            calls=row["calls"],
            input_tokens=int(row["input_tokens"] or 0),
            output_tokens=int(row["output_tokens"] or 0),
            cost=row["cost"] or Decimal(0),
            unpriced_calls=row["unpriced_calls"],
        )
        for row in rows
    ]
    return _with_shares(spend)


def _with_shares(spend):
    """Fill each row's share of the total cost and sort by cost, largest first."""
    total = sum((row.cost for row in spend), Decimal(0))
    for row in spend:
        row.share = float(row.cost / total) if total else 0.0
    return sorted(spend, key=lambda row: (-row.cost, -row.calls, row.key))


def spend_by_prompt(project, since):
    """Spend per prompt name since ``since`` (calls without a prompt grouped)."""
    return _spend_rows(llm_calls(project, since), "prompt_name", NO_PROMPT)


def spend_by_model(project, since):
    """Spend per model name since ``since``."""
    return _spend_rows(llm_calls(project, since), "model", NO_MODEL)


def unpriced_call_count(project, since):
    """How many calls since ``since`` have usage but no known price."""
    return llm_calls(project, since).filter(UNPRICED).count()


@dataclass
class CostWindow:
    title: str
    since: object
    by_prompt: list
    by_model: list
    unpriced_calls: int

    @property
    def total_cost(self):
        return sum((row.cost for row in self.by_model), Decimal(0))

    @property
    def total_calls(self):
        return sum(row.calls for row in self.by_model)


def cost_overview(project, now=None):
    """The cost overview for each window in ``REPORT_WINDOWS``, newest first."""
    now = now or timezone.now()
    windows = []
    for title, length in REPORT_WINDOWS:
        since = now - length
        windows.append(
            CostWindow(
                title=title,
                since=since,
                by_prompt=spend_by_prompt(project, since),
                by_model=spend_by_model(project, since),
                unpriced_calls=unpriced_call_count(project, since),
            )
        )
    return windows
