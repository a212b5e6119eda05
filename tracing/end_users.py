"""End users: their calls and cost per day, read from the day roll-ups."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Sum,
)
from django.utils import timezone

from .conversations import trace_figures
from .explore import DAY, parse_day
from .models import Granularity, Trace, UsageBucket
from .usage import LONGEST_PERIOD

# End users


def default_period(today=None):
    """The last 30 whole UTC days, today included: ``(first day, last day)``."""
    today = today or timezone.now().astimezone(UTC).date()
    return today - timedelta(days=29), today


# The longest period a user's page or the API reads, one row per day.
LONGEST_DAYS = LONGEST_PERIOD.days
TOO_LONG = f"a period spans at most {LONGEST_DAYS} days"


def too_long(first_day, last_day):
    return (last_day - first_day).days + 1 > LONGEST_DAYS


def read_period(reader):
    """``(first day, last day)`` from ``from``/``to`` (inclusive days)."""
    first, last = default_period()
    start = reader.value("from", parse_day)
    end = reader.value("to", parse_day)
    if start and end and start > end:
        reader.reject("to", "must not be before from")
        return first, last
    if start and not end:
        start, end = start, max(start, last)
    elif end and not start:
        start = end - timedelta(days=29)
    elif not start:
        return first, last
    if too_long(start, end):
        reader.reject("to", TOO_LONG)
        return first, last
    return start, end


def day_start(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class UserRow:
    user_id: str
    calls: int
    errors: int
    tokens: int
    cost: Decimal
    unpriced_calls: int


def user_totals(project, first_day, last_day, *, limit=200):
    """End users by cost in the period, from the daily usage buckets.

    Calls without a user are left out. Returns ``(rows, more)``: at most
    ``limit`` rows, largest cost first.
    """
    rows = (
        _user_days(project, first_day, last_day)
        .exclude(user_id="")
        .values("user_id")
        .annotate(
            calls_sum=Sum("calls"),
            errors_sum=Sum("errors"),
            tokens_sum=Sum("total_tokens"),
            cost_sum=Sum("cost"),
            unpriced_sum=Sum("unpriced_calls"),
        )
        .order_by("-cost_sum", "-calls_sum", "user_id")
    )
    found = [
        UserRow(
            user_id=row["user_id"],
            calls=row["calls_sum"],
            errors=row["errors_sum"],
            tokens=row["tokens_sum"],
            cost=row["cost_sum"],
            unpriced_calls=row["unpriced_sum"],
        )
        for row in rows[: limit + 1]
    ]
    return found[:limit], len(found) > limit


def _user_days(project, first_day, last_day):
    return UsageBucket.objects.filter(
        project=project,
        granularity=Granularity.DAY,
        bucket_start__gte=day_start(first_day),
        bucket_start__lt=day_start(last_day) + DAY,
    ).order_by()


@dataclass
class UserDay:
    day: date
    calls: int = 0
    errors: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)


def user_daily(project, user_id, first_day, last_day):
    """One ``UserDay`` per day of the period (zeros where the user made no call)."""
    rows = (
        _user_days(project, first_day, last_day)
        .filter(user_id=user_id)
        .values("bucket_start")
        .annotate(
            calls_sum=Sum("calls"),
            errors_sum=Sum("errors"),
            tokens_sum=Sum("total_tokens"),
            cost_sum=Sum("cost"),
        )
    )
    found = {row["bucket_start"].astimezone(UTC).date(): row for row in rows}
    days = []
    day = first_day
    while day <= last_day:
        row = found.get(day)
        if row is None:
            days.append(UserDay(day=day))
        else:
            days.append(
                UserDay(
                    day=day,
                    calls=row["calls_sum"],
                    errors=row["errors_sum"],
                    tokens=row["tokens_sum"],
                    cost=row["cost_sum"],
                )
            )
        day += DAY
    return days


def recent_traces(project, user_id, limit=20):
    traces = list(
        Trace.objects.filter(project=project, user_id=user_id).order_by(
            "-timestamp", "-pk"
        )[:limit]
    )
    figures = trace_figures(project, [trace.trace_id for trace in traces])
    for trace in traces:
        trace.figures = figures[trace.trace_id]
    return traces
