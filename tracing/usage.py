"""Reports read from the usage roll-ups (``UsageBucket``), not from raw calls.

A window is read from day buckets for its whole days and hour buckets for
the hours at either end, so a 30-day report reads a few thousand rows
however many calls the project made.
"""

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from .models import Granularity, UsageBucket

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


def _floor_hour(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment):
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def _floor_day(moment):
    return _floor_hour(moment).replace(hour=0)


def window_buckets(project, start, end):
    """The buckets that together cover [start, end) exactly once, hour-rounded.

    Whole UTC days inside the window come from day buckets; the partial
    days at either end from hour buckets. ``start`` is rounded down and
    ``end`` up to the hour.
    """
    start, end = _floor_hour(start), _ceil_hour(end)
    first_day = _floor_day(start)
    if first_day < start:
        first_day += DAY
    last_day = _floor_day(end)
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
        row.share = float(row.cost / total) if total else 0.0
    return sorted(shares, key=lambda row: (-row.cost, -row.calls, str(row.key)))
