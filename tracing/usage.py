"""Reports read from the usage roll-ups (``UsageBucket``), not from raw calls.

A window is read from day buckets for its whole days and hour buckets for
the hours at either end, so a 30-day report reads a few thousand rows
however many calls the project made.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Min, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date

from .explore import OUT_OF_RANGE, parse_moment
from .histograms import Histogram
from .models import Granularity, UsageBucket
from .rollups import day_of, hour_of

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Report dimension -> UsageBucket column.
DIMENSION_COLUMNS = {
    "prompt": "prompt_name",
    "version": "prompt_version",
    "model": "model",
    "user": "user_id",
    "feature": "feature",
    "environment": "environment",
}


def ceil_hour(moment):
    """The first whole UTC hour at or after ``moment``."""
    floor = hour_of(moment)
    return floor if floor == moment else floor + HOUR


def window_buckets(project, start, end):
    """The buckets that together cover [start, end) exactly once, hour-rounded.

    Whole UTC days inside the window come from day buckets; the partial
    days at either end from hour buckets. ``start`` is rounded down and
    ``end`` up to the hour.
    """
    start, end = hour_of(start), ceil_hour(end)
    first_day = day_of(start)
    if first_day < start:
        first_day += DAY
    last_day = day_of(end)
    buckets = UsageBucket.objects.filter(project=project)
    if first_day >= last_day:
        return buckets.filter(
            granularity=Granularity.HOUR, bucket_start__gte=start, bucket_start__lt=end
        )
    days = Q(
        granularity=Granularity.DAY,
        bucket_start__gte=first_day,
        bucket_start__lt=last_day,
    )
    edges = Q(granularity=Granularity.HOUR) & (
        Q(bucket_start__gte=start, bucket_start__lt=first_day)
        | Q(bucket_start__gte=last_day, bucket_start__lt=end)
    )
    return buckets.filter(days | edges)


@dataclass
class ShareRow:
    """One group's spend in a window and its share of the window's total."""

    key: object
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: Decimal
    unpriced_calls: int
    share: float = 0.0
    # The same share as an exact Decimal, for exports and the API.
    exact_share: Decimal = Decimal(0)

    @property
    def share_percent(self):
        return round(self.share * 100, 1)

    @property
    def priced_calls(self):
        return self.calls - self.unpriced_calls

    @property
    def cost_per_call(self):
        """Mean over priced calls only: unpriced ones would drag it to zero."""
        return self.cost / self.priced_calls if self.priced_calls else None


def spend_share(project, *, start, end, by="prompt"):
    """Each group's calls, tokens and cost in [start, end), largest cost first.

    ``by`` is a key of ``DIMENSION_COLUMNS``; for "version" the key of a row
    is ``(prompt_name, version)``. Shares add up to 1 when anything cost.
    """
    column = DIMENSION_COLUMNS[by]
    group = ("prompt_name", column) if by == "version" else (column,)
    rows = (
        window_buckets(project, start, end)
        .order_by()
        .values(*group)
        .annotate(
            calls_sum=Sum("calls"),
            errors_sum=Sum("errors"),
            input_sum=Sum("input_tokens"),
            output_sum=Sum("output_tokens"),
            total_sum=Sum("total_tokens"),
            cost_sum=Sum("cost"),
            unpriced_sum=Sum("unpriced_calls"),
        )
    )
    shares = [
        ShareRow(
            key=tuple(row[name] for name in group) if by == "version" else row[column],
            calls=row["calls_sum"] or 0,
            errors=row["errors_sum"] or 0,
            input_tokens=row["input_sum"] or 0,
            output_tokens=row["output_sum"] or 0,
            total_tokens=row["total_sum"] or 0,
            cost=row["cost_sum"] or Decimal(0),
            unpriced_calls=row["unpriced_sum"] or 0,
        )
        for row in rows
    ]
    total = sum((row.cost for row in shares), Decimal(0))
    for row in shares:
        row.exact_share = row.cost / total if total else Decimal(0)
        row.share = float(row.exact_share)
    return sorted(shares, key=lambda row: (-row.cost, -row.calls, str(row.key)))


def share_totals(rows):
    """The totals row of a ``spend_share`` table: every group added up."""
    total = ShareRow(
        key=None,
        calls=sum(row.calls for row in rows),
        errors=sum(row.errors for row in rows),
        input_tokens=sum(row.input_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        total_tokens=sum(row.total_tokens for row in rows),
        cost=sum((row.cost for row in rows), Decimal(0)),
        unpriced_calls=sum(row.unpriced_calls for row in rows),
    )
    if total.cost:
        total.exact_share = Decimal(1)
        total.share = 1.0
    return total


# Periods: the windows a report can be asked for.

PERIODS = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "custom": "From – to",
}
DEFAULT_PERIOD = "7d"
RELATIVE_PERIODS = {"24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
# Windows up to this long are charted per hour, longer ones per day.
HOURLY_UP_TO = 2 * DAY
# A bound on what one request may read (a leap year and then some).
LONGEST_PERIOD = 400 * DAY
MOMENT_FORMATS = "a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)"


class PeriodError(ValueError):
    """A period that cannot be reported on; ``field`` names the parameter."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Period:
    """A report window [start, end) in UTC, on whole hours."""

    key: str
    start: datetime
    end: datetime

    @property
    def granularity(self):
        if self.end - self.start <= HOURLY_UP_TO:
            return Granularity.HOUR
        return Granularity.DAY

    @property
    def title(self):
        return PERIODS[self.key]


def _parse_moment(field, text, *, is_end):
    """A UTC datetime from a date or a date and time; a bare end date is
    inclusive, so it means the start of the next day."""
    try:
        moment = parse_moment(text)
    except ValueError as error:
        reason = (
            OUT_OF_RANGE if str(error) == OUT_OF_RANGE else f"is not {MOMENT_FORMATS}"
        )
        raise PeriodError(field, f"'{text}' {reason}") from None
    if is_end and parse_date(text) is not None:
        moment += DAY
    return moment.astimezone(UTC)


def parse_period(params, *, now=None):
    """The Period that ``params`` ("period", "from", "to") ask for.

    Without "period", a "from" or "to" means a custom window and nothing
    means the default. A custom window without "to" runs until now. Both
    ends are widened to whole hours, the roll-ups' finest grain. Raises
    PeriodError naming the parameter at fault.
    """
    now = now or timezone.now()
    start_text = (params.get("from") or "").strip()
    end_text = (params.get("to") or "").strip()
    key = (params.get("period") or "").strip()
    if not key:
        key = "custom" if start_text or end_text else DEFAULT_PERIOD
    if key not in PERIODS:
        raise PeriodError("period", f"'{key}' is not one of {', '.join(PERIODS)}")
    end = ceil_hour(now)
    if key in RELATIVE_PERIODS:
        return Period(key, end - RELATIVE_PERIODS[key], end)
    if key == "month":
        return Period(key, day_of(now).replace(day=1), end)
    if not start_text:
        raise PeriodError("from", "a custom period needs a start")
    start = hour_of(_parse_moment("from", start_text, is_end=False))
    if end_text:
        end = ceil_hour(_parse_moment("to", end_text, is_end=True))
    if end <= start:
        raise PeriodError(
            "to", f"must be after from ({start:%Y-%m-%d %H:%M} UTC, hour-rounded)"
        )
    if end - start > LONGEST_PERIOD:
        raise PeriodError("to", f"a period spans at most {LONGEST_PERIOD.days} days")
    return Period(key, start, end)


def period_buckets(project, period):
    """Buckets covering the period once, at the period's chart granularity.

    A day chart reads ``window_buckets`` (days inside, hours at the edges);
    an hour chart needs hour buckets throughout.
    """
    if period.granularity == Granularity.DAY:
        return window_buckets(project, period.start, period.end)
    return UsageBucket.objects.filter(
        project=project,
        granularity=Granularity.HOUR,
        bucket_start__gte=period.start,
        bucket_start__lt=period.end,
    )


def period_starts(period):
    """The start of every hour or day (UTC) the period's chart shows."""
    if period.granularity == Granularity.HOUR:
        step, moment = HOUR, period.start
    else:
        step, moment = DAY, day_of(period.start)
    starts = []
    while moment < period.end:
        starts.append(moment)
        moment += step
    return starts


def _chart_slot(period, bucket_start):
    if period.granularity == Granularity.HOUR:
        return bucket_start
    return day_of(bucket_start)


# Trends: cost and calls over time per prompt, model or feature.

TREND_DIMENSIONS = ("prompt", "model", "feature")
TOP_SERIES = 8
OTHER = "(other)"


@dataclass
class Series:
    """One line of a trend: a dimension value's cost and calls per slot."""

    key: str
    costs: list
    calls: list
    is_other: bool = False

    @property
    def total_cost(self):
        return sum(self.costs, Decimal(0))

    @property
    def total_calls(self):
        return sum(self.calls)


@dataclass
class LatencyPoint:
    """Latency quantiles (seconds) of the calls that started in one slot."""

    start: datetime
    count: int
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass
class Trend:
    period: Period
    by: str
    starts: list
    series: list = field(default_factory=list)
    latency: list = field(default_factory=list)

    @property
    def granularity(self):
        return self.period.granularity

    @property
    def cost_totals(self):
        return [
            sum((s.costs[index] for s in self.series), Decimal(0))
            for index in range(len(self.starts))
        ]

    @property
    def call_totals(self):
        return [
            sum(s.calls[index] for s in self.series)
            for index in range(len(self.starts))
        ]


def _top_series(per_key, slots, top):
    """The ``top`` keys by cost (then calls) as Series, the rest as one "other"."""
    ranked = sorted(
        per_key.items(),
        key=lambda item: (-sum(item[1][0]), -sum(item[1][1]), item[0]),
    )
    series = [Series(key, costs, calls) for key, (costs, calls) in ranked[:top]]
    rest = ranked[top:]
    if rest:
        costs = [sum((r[1][0][i] for r in rest), Decimal(0)) for i in range(slots)]
        calls = [sum(r[1][1][i] for r in rest) for i in range(slots)]
        series.append(Series(OTHER, costs, calls, is_other=True))
    return series


def trend(project, period, *, by="prompt", prompt=None, top=TOP_SERIES):
    """Cost and calls per slot for the top ``top`` values of ``by``, and the
    latency quantiles per slot; ``prompt`` narrows everything to one prompt."""
    column = DIMENSION_COLUMNS[by]
    starts = period_starts(period)
    index = {start: position for position, start in enumerate(starts)}
    buckets = period_buckets(project, period)
    if prompt is not None:
        buckets = buckets.filter(prompt_name=prompt)
    per_key = {}
    rows = (
        buckets.order_by()
        .values("bucket_start", column)
        .annotate(cost_sum=Sum("cost"), calls_sum=Sum("calls"))
    )
    for row in rows:
        costs, calls = per_key.setdefault(
            row[column], ([Decimal(0)] * len(starts), [0] * len(starts))
        )
        slot = index[_chart_slot(period, row["bucket_start"])]
        costs[slot] += row["cost_sum"] or Decimal(0)
        calls[slot] += row["calls_sum"] or 0
    histograms = [Histogram() for _ in starts]
    stored = buckets.exclude(latency_histogram={}).values_list(
        "bucket_start", "latency_histogram"
    )
    for bucket_start, histogram in stored.iterator():
        slot = index[_chart_slot(period, bucket_start)]
        histograms[slot].merge(Histogram.from_dict(histogram))
    return Trend(
        period=period,
        by=by,
        starts=starts,
        series=_top_series(per_key, len(starts), top),
        latency=[
            LatencyPoint(
                start=start,
                count=histogram.count,
                p50=histogram.quantile(0.5),
                p95=histogram.quantile(0.95),
                p99=histogram.quantile(0.99),
            )
            for start, histogram in zip(starts, histograms, strict=True)
        ],
    )


# Unpriced models: usage that no price matched.


@dataclass
class UnpricedModel:
    model: str
    unpriced_calls: int
    calls: int
    first_seen: datetime
    last_seen: datetime


def unpriced_models(project, period):
    """Models with unpriced calls in the period, most unpriced calls first.

    First and last seen are read from hour buckets, so they are the start
    of the first and the end of the last hour with an unpriced call.
    """
    hours = UsageBucket.objects.filter(
        project=project,
        granularity=Granularity.HOUR,
        bucket_start__gte=period.start,
        bucket_start__lt=period.end,
    ).order_by()
    unpriced = (
        hours.filter(unpriced_calls__gt=0)
        .values("model")
        .annotate(
            unpriced_sum=Sum("unpriced_calls"),
            first=Min("bucket_start"),
            last=Max("bucket_start"),
        )
    )
    found = {row["model"]: row for row in unpriced}
    calls = dict(
        hours.filter(model__in=list(found))
        .values("model")
        .annotate(calls_sum=Sum("calls"))
        .values_list("model", "calls_sum")
    )
    models = [
        UnpricedModel(
            model=model,
            unpriced_calls=row["unpriced_sum"],
            calls=calls.get(model, 0),
            first_seen=row["first"],
            last_seen=row["last"] + HOUR,
        )
        for model, row in found.items()
    ]
    return sorted(models, key=lambda m: (-m.unpriced_calls, m.model))
