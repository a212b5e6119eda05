"""Daily usage per model, for Langfuse's ``GET /api/public/metrics/daily``.

Where the figures come from:

- Calls, tokens and cost per day and model come from the usage roll-ups
  (``UsageBucket``: day buckets for whole days, hour buckets at the edges)
  when the filters are dimensions of the buckets (user, environment) and the
  window starts and ends on the hour. A trace name or tags are not bucket
  dimensions, and a window cut inside an hour would need part of an hour
  bucket; then the same figures are summed from the raw calls instead
  (correct, slower). Both ways count exactly the same calls.
- A day's ``countTraces`` is one grouped count of the ``Trace`` table (traces
  by their own timestamp), as Langfuse counts them; buckets cannot hold
  distinct traces.
- A model's ``countTraces`` (distinct traces that called it that day) cannot
  be summed from buckets either: it is one grouped distinct count over the
  raw calls of the page's days only.

As everywhere in the reports, "calls" are generations and embeddings: spans
and events carry no model, tokens or cost, and are not counted (Langfuse
counts them in ``countObservations``). Figures from buckets are as fresh as
the last roll-up (the beat runs every minute); trace counts are live.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Min, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from .models import Granularity, Trace, UsageBucket
from .reports import INPUT_USAGE_KEYS, OUTPUT_USAGE_KEYS, usage_tokens
from .rollups import hour_of, llm_calls
from .selectors import _tags_filter, _time_range
from .usage import HOUR, window_buckets

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DailyFilters:
    """The query of one request; empty values filter nothing.

    ``tags``: traces holding all of them. ``environments``: any of them (the
    calls' environment for usage, the traces' for trace counts). ``start``
    inclusive, ``end`` exclusive, both on calls' start and traces' timestamp.
    """

    trace_name: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    @property
    def answered_by_buckets(self):
        """Whether the usage buckets hold every call these filters select."""
        # In UTC: 10:00+05:30 is 04:30, inside an hour bucket.
        on_the_hour = all(
            bound is None or bound.astimezone(UTC) == hour_of(bound)
            for bound in (self.start, self.end)
        )
        return not self.trace_name and not self.tags and on_the_hour


@dataclass
class ModelUsage:
    """One model's calls on one day; ``model`` is "" for calls that named none."""

    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: Decimal
    traces: int = 0


@dataclass
class DailyUsage:
    day: date
    traces: int = 0
    models: list[ModelUsage] = field(default_factory=list)

    @property
    def calls(self):
        return sum(usage.calls for usage in self.models)

    @property
    def cost(self):
        return sum((usage.cost for usage in self.models), Decimal(0))


def _per_day(queryset, column):
    return queryset.order_by().annotate(day=TruncDate(column, tzinfo=UTC))


def _traces_per_day(project_id, filters):
    """{day: traces} of the traces matching every filter, by their timestamp."""
    traces = _matching_traces(project_id, filters)
    if filters.environments:
        traces = traces.filter(environment__in=filters.environments)
    traces = _time_range(traces, "timestamp", filters.start, filters.end)
    rows = _per_day(traces, "timestamp").values("day").annotate(count=Count("id"))
    return {row["day"]: row["count"] for row in rows}


def _matching_traces(project_id, filters):
    """Traces by name, user and tags: the filters that select calls by trace."""
    traces = Trace.objects.filter(project_id=project_id)
    if filters.trace_name:
        traces = traces.filter(name=filters.trace_name)
    if filters.user_id:
        traces = traces.filter(user_id=filters.user_id)
    return _tags_filter(traces, filters.tags)


def _matching_calls(project_id, filters, start, end):
    """The LLM calls started in [start, end) that the filters select."""
    calls = _time_range(llm_calls(project_id), "start_time", start, end)
    if filters.environments:
        calls = calls.filter(environment__in=filters.environments)
    if filters.trace_name or filters.user_id or filters.tags:
        traces = _matching_traces(project_id, filters).values("trace_id")
        calls = calls.filter(trace_id__in=Subquery(traces))
    return _per_day(calls, "start_time").annotate(
        model_name=Coalesce("model", Value(""))
    )


def _model_usage(row, *, traces=0):
    return ModelUsage(
        model=row["model_name"],
        calls=row["calls"] or 0,
        input_tokens=round(row["input_tokens"] or 0),
        output_tokens=round(row["output_tokens"] or 0),
        total_tokens=round(row["total_tokens"] or 0),
        cost=row["cost"] or Decimal(0),
        traces=traces,
    )


def _usage_from_calls(project_id, filters):
    """{(day, model): ModelUsage} summed from the raw calls, traces included."""
    rows = (
        _matching_calls(project_id, filters, filters.start, filters.end)
        .values("day", "model_name")
        .annotate(
            calls=Count("id"),
            input_tokens=Sum(usage_tokens(INPUT_USAGE_KEYS)),
            output_tokens=Sum(usage_tokens(OUTPUT_USAGE_KEYS)),
            total_tokens=Sum(usage_tokens(("total",))),
            cost=Sum("total_cost"),
            traces=Count("trace_id", distinct=True),
        )
    )
    return {
        (row["day"], row["model_name"]): _model_usage(row, traces=row["traces"])
        for row in rows
    }


def _buckets_in_window(project_id, start, end):
    """The buckets covering [start, end) once; an open end reaches the data's."""
    if start is None and end is None:
        return UsageBucket.objects.filter(
            project_id=project_id, granularity=Granularity.DAY
        )
    if start is None or end is None:
        span = UsageBucket.objects.filter(
            project_id=project_id, granularity=Granularity.HOUR
        ).aggregate(first=Min("bucket_start"), last=Max("bucket_start"))
        if span["first"] is None:
            return UsageBucket.objects.none()
        start = start if start is not None else span["first"]
        end = end if end is not None else span["last"] + HOUR
    return window_buckets(project_id, start, end)


def _usage_from_buckets(project_id, filters):
    """{(day, model): ModelUsage} from the roll-ups, without trace counts."""
    buckets = _buckets_in_window(project_id, filters.start, filters.end)
    if filters.user_id:
        buckets = buckets.filter(user_id=filters.user_id)
    if filters.environments:
        buckets = buckets.filter(environment__in=filters.environments)
    rows = (
        _per_day(buckets, "bucket_start")
        .values("day", model_name=F("model"))
        .annotate(
            calls=Sum("calls"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            total_tokens=Sum("total_tokens"),
            cost=Sum("cost"),
        )
    )
    return {(row["day"], row["model_name"]): _model_usage(row) for row in rows}


def _add_traces_per_model(project_id, filters, usage, days):
    """Fill each model's distinct traces on ``days`` from the raw calls."""
    first = datetime.combine(min(days), time(), tzinfo=UTC)
    last = datetime.combine(max(days), time(), tzinfo=UTC) + DAY
    start = first if filters.start is None else max(first, filters.start)
    end = last if filters.end is None else min(last, filters.end)
    rows = (
        _matching_calls(project_id, filters, start, end)
        .values("day", "model_name")
        .annotate(traces=Count("trace_id", distinct=True))
    )
    for row in rows:
        # A call newer than the last roll-up has no usage row to count in yet.
        if (row["day"], row["model_name"]) in usage:
            usage[row["day"], row["model_name"]].traces = row["traces"]


def daily_usage(*, project_id, filters, page, limit):
    """One page of days, newest first, and the number of days in all.

    A day is listed when a matching trace or call falls in it.
    """
    traces = _traces_per_day(project_id, filters)
    if filters.answered_by_buckets:
        usage = _usage_from_buckets(project_id, filters)
    else:
        usage = _usage_from_calls(project_id, filters)
    days = sorted(set(traces) | {day for day, _ in usage}, reverse=True)
    page_days = days[(page - 1) * limit : page * limit]
    if page_days and filters.answered_by_buckets:
        _add_traces_per_model(project_id, filters, usage, page_days)
    listed = {day: DailyUsage(day=day, traces=traces.get(day, 0)) for day in page_days}
    for (day, _), model_usage in usage.items():
        if day in listed:
            listed[day].models.append(model_usage)
    for daily in listed.values():
        # Costliest first; calls that named no model last among equals.
        daily.models.sort(
            key=lambda usage: (-usage.cost, usage.model == "", usage.model)
        )
    return [listed[day] for day in page_days], len(days)
