"""Reads behind the trace list: its filters, keyset pages and per-page totals.

The trace list walks traces newest first by keyset, so a page costs the same
however deep it is. Filters on what a trace's observations did (prompt,
label, model, errors) are EXISTS over indexed observation columns, which
PostgreSQL may run either per trace along the walk or as a semi-join from
the matching observations first, whichever is cheaper for the value.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from prompts.models import LabelMove, Prompt

from . import reports
from .models import Granularity, Observation, Trace, UsageBucket

CURSOR_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
DAY = timedelta(days=1)
# Dates a filter or report may name. Far enough either way for any real
# trace, and far from the calendar's ends (years 1 and 9999), where adding a
# day or an hour to a window's edge would overflow.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
OUT_OF_RANGE = f"is not between {EARLIEST_DAY} and {LATEST_DAY}"


def in_range(day):
    """Whether ``day`` (a date) is one a filter or report may name."""
    return EARLIEST_DAY <= day <= LATEST_DAY


# Parsing query values


def parse_moment(text):
    """A datetime from a ``datetime-local`` or date field (UTC when naive)."""
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = None if day is None else datetime.combine(day, time.min)
    except ValueError:
        # Well-formed but impossible, like 2026-13-45.
        moment = None
    if moment is None:
        raise ValueError("is not a date or time")
    if not in_range(moment.date()):
        raise ValueError(OUT_OF_RANGE)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_day(text):
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        raise ValueError("is not a date (YYYY-MM-DD)")
    if not in_range(day):
        raise ValueError(OUT_OF_RANGE)
    return day


def parse_positive_int(text):
    try:
        number = int(text)
    except ValueError:
        raise ValueError("is not a whole number") from None
    if number < 1:
        raise ValueError("must be 1 or more")
    return number


# Filter thresholds past these match nothing real; larger ones are typos,
# and past timedelta's range (about 1e14 seconds) a latency would overflow.
LARGEST_AMOUNT = Decimal(1_000_000_000)
LONGEST_SECONDS = 365 * 24 * 3600


def parse_amount(text):
    """A non-negative decimal amount of USD, at most LARGEST_AMOUNT."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a number of 0 or more")
    if amount > LARGEST_AMOUNT:
        raise ValueError(f"is too large (at most {LARGEST_AMOUNT} USD)")
    return amount


def parse_seconds(text):
    """A non-negative number of seconds, at most LONGEST_SECONDS."""
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError("is not a number of seconds") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError("must be a number of seconds, 0 or more")
    if seconds > LONGEST_SECONDS:
        raise ValueError(f"is too large (at most {LONGEST_SECONDS} seconds)")
    return seconds


def format_cursor(moment, key):
    """Keyset cursor text: the last row's time and tie-breaking key."""
    return f"{moment.astimezone(UTC).strftime(CURSOR_TIME_FORMAT)},{key}"


def parse_cursor(text):
    """``(timestamp, key text)`` from ``format_cursor``'s text."""
    stamp, comma, key = text.partition(",")
    if not comma:
        raise ValueError("is not a page cursor")
    try:
        moment = datetime.fromisoformat(stamp.replace(" ", "+"))
    except ValueError:
        raise ValueError("is not a page cursor") from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment, key


def parse_trace_cursor(text):
    moment, key = parse_cursor(text)
    try:
        return moment, int(key)
    except ValueError:
        raise ValueError("is not a page cursor") from None


class QueryReader:
    """Reads optional values from a query dict, collecting a message per bad one.

    A bad value is named and ignored, so one typo does not blank the page.
    """

    def __init__(self, query):
        self.query = query
        self.problems = []

    def text(self, key):
        return self.query.get(key, "").strip()

    def value(self, key, parse):
        text = self.text(key)
        if not text:
            return None
        try:
            return parse(text)
        except ValueError as error:
            self.problems.append(f"{key}: '{text}' {error}; ignored.")
            return None

    def reject(self, key, reason):
        self.problems.append(f"{key}: {reason}; ignored.")


# The trace list


@dataclass
class TraceFilters:
    user: str = ""
    session: str = ""
    name: str = ""
    prompt: str = ""
    version: int | None = None
    label: str = ""
    model: str = ""
    feature: str = ""
    errors_only: bool = False
    cost_above: Decimal | None = None
    latency_above: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    before: tuple | None = None
    problems: list = field(default_factory=list)

    @classmethod
    def from_query(cls, query):
        reader = QueryReader(query)
        filters = cls(
            user=reader.text("user"),
            session=reader.text("session"),
            name=reader.text("name"),
            prompt=reader.text("prompt"),
            label=reader.text("label"),
            model=reader.text("model"),
            feature=reader.text("feature"),
            errors_only=query.get("errors") == "1",
            version=reader.value("version", parse_positive_int),
            cost_above=reader.value("cost_above", parse_amount),
            latency_above=reader.value("latency_above", parse_seconds),
            start=reader.value("from", parse_moment),
            end=reader.value("to", parse_moment),
            before=reader.value("before", parse_trace_cursor),
        )
        # A version or a label means nothing without its prompt.
        for key in ("version", "label"):
            if getattr(filters, key) not in (None, "") and not filters.prompt:
                reader.reject(key, "needs a prompt name as well")
                setattr(filters, key, None if key == "version" else "")
        if filters.start and filters.end and filters.start >= filters.end:
            reader.reject("to", "must be after from")
            filters.end = None
        filters.problems = reader.problems
        return filters


def label_windows(project, prompt_name, label):
    """``[(version number, from, until)]``: when ``label`` pointed where.

    Read from the deployment history (LabelMove): each move points the label
    at ``to_version`` (None when removed) until the next move. ``until`` is
    None for the current pointer.
    """
    moves = list(
        LabelMove.objects.filter(
            prompt__project=project, prompt__name=prompt_name, label=label
        )
        .order_by("moved_at", "id")
        .values_list("to_version", "moved_at")
    )
    windows = []
    for index, (version, moved_at) in enumerate(moves):
        until = moves[index + 1][1] if index + 1 < len(moves) else None
        if version is not None:
            windows.append((version, moved_at, until))
    return windows


# Up to this many matching traces, an observation filter reads their ids
# first and looks the traces up; past it, matches are common enough that
# checking each trace along the newest-first walk fills a page sooner.
OBSERVATIONS_FIRST_LIMIT = 20_000


def has_call(calls):
    """A trace filter: the trace has one of ``calls`` (observations of the project).

    A rare value (a seldom-used model, an old version) would make the walk
    check most traces before it finds a page, so the ids of the traces with
    such calls are read first from the observation index.
    """
    ids = list(
        calls.order_by()
        .values_list("trace_id", flat=True)
        .distinct()[: OBSERVATIONS_FIRST_LIMIT + 1]
    )
    if len(ids) > OBSERVATIONS_FIRST_LIMIT:
        return Exists(calls.filter(trace_id=OuterRef("trace_id")))
    if connection.vendor == "postgresql":
        # One array parameter rather than thousands of placeholders.
        table = connection.ops.quote_name(Trace._meta.db_table)
        return RawSQL(
            f"{table}.trace_id = ANY(%s)", (ids,), output_field=BooleanField()
        )
    return Q(trace_id__in=ids)


def prompt_calls(project, filters):
    """Calls of the filtered prompt, version and label.

    The label matches calls made while it pointed at the version they used
    (from the label's move history), not where it points now.
    """
    calls = Observation.objects.filter(project=project, prompt_name=filters.prompt)
    if filters.version is not None:
        calls = calls.filter(prompt_version_number=filters.version)
    if filters.label:
        during = Q(pk__in=[])
        for version, start, until in label_windows(
            project, filters.prompt, filters.label
        ):
            window = Q(prompt_version_number=version, start_time__gte=start)
            if until is not None:
                window &= Q(start_time__lt=until)
            during |= window
        calls = calls.filter(during)
    return calls


def feature_is(project, feature):
    """A condition: the trace's feature (see ``Project.feature_key``) is ``feature``.

    The feature is ``metadata[key]`` when that is a non-empty string or a
    number, else the value of the first ``key:value`` tag, else "".
    """
    key = project.feature_key
    table = connection.ops.quote_name(Trace._meta.db_table)
    prefix = f"{key}:"
    if connection.vendor == "postgresql":
        sql = f"""(CASE
            WHEN jsonb_typeof({table}.metadata -> %s) IN ('string', 'number')
                 AND {table}.metadata ->> %s <> ''
            THEN {table}.metadata ->> %s
            ELSE COALESCE((
                SELECT substr(t.tag, %s)
                FROM jsonb_array_elements_text(CASE
                    WHEN jsonb_typeof({table}.tags) = 'array' THEN {table}.tags
                    ELSE '[]'::jsonb END) WITH ORDINALITY AS t(tag, n)
                WHERE left(t.tag, %s) = %s
                ORDER BY t.n LIMIT 1), '')
            END) = %s"""
        params = (key, key, key, len(prefix) + 1, len(prefix), prefix, feature)
    else:
        path = '$."' + key.replace('"', '""') + '"'
        sql = f"""(CASE
            WHEN json_type({table}.metadata, %s) IN ('text', 'integer', 'real')
                 AND CAST(json_extract({table}.metadata, %s) AS TEXT) <> ''
            THEN CAST(json_extract({table}.metadata, %s) AS TEXT)
            ELSE COALESCE((
                SELECT substr(t.value, %s)
                FROM json_each(CASE WHEN json_type({table}.tags) = 'array'
                    THEN {table}.tags ELSE '[]' END) AS t
                WHERE t.type = 'text' AND substr(t.value, 1, %s) = %s
                ORDER BY t.key LIMIT 1), '')
            END) = %s"""
        params = (path, path, path, len(prefix) + 1, len(prefix), prefix, feature)
    return RawSQL(sql, params, output_field=BooleanField())


def _per_trace(aggregate):
    """``aggregate`` over the outer trace's observations, as a subquery."""
    return Subquery(
        Observation.objects.filter(
            project_id=OuterRef("project_id"), trace_id=OuterRef("trace_id")
        )
        .order_by()
        .values("trace_id")
        .annotate(value=aggregate)
        .values("value")[:1]
    )


def filtered_traces(project, filters):
    """The project's traces passing ``filters``, newest first.

    Totals are not annotated here: ``trace_page`` adds them for the page's
    rows only, in one grouped query, so no filter pays for them.
    """
    traces = Trace.objects.filter(project=project)
    if filters.user:
        traces = traces.filter(user_id=filters.user)
    if filters.session:
        traces = traces.filter(session_id=filters.session)
    if filters.name:
        traces = traces.filter(name__icontains=filters.name)
    if filters.start:
        traces = traces.filter(timestamp__gte=filters.start)
    if filters.end:
        traces = traces.filter(timestamp__lt=filters.end)
    calls = Observation.objects.filter(project=project)
    if filters.prompt:
        traces = traces.filter(has_call(prompt_calls(project, filters)))
    if filters.model:
        traces = traces.filter(has_call(calls.filter(model=filters.model)))
    if filters.errors_only:
        traces = traces.filter(has_call(calls.filter(level="ERROR")))
    if filters.feature:
        traces = traces.filter(feature_is(project, filters.feature))
    if filters.cost_above is not None:
        # A trace's cost is a sum over its observations: checked per trace
        # along the walk, so the first page of a common value stays cheap.
        traces = traces.alias(cost=_per_trace(Sum("total_cost"))).filter(
            cost__gt=filters.cost_above
        )
    if filters.latency_above is not None:
        span = ExpressionWrapper(
            Max("end_time") - Min("start_time"), output_field=DurationField()
        )
        traces = traces.alias(span=_per_trace(span)).filter(
            span__gt=timedelta(seconds=filters.latency_above)
        )
    if filters.before:
        # Keyset: rows strictly after the cursor in (-time, -id) order. The
        # redundant ``timestamp <= moment`` lets the index range start at the
        # cursor instead of filtering every newer row.
        moment, pk = filters.before
        traces = traces.filter(timestamp__lte=moment).filter(
            Q(timestamp__lt=moment) | Q(pk__lt=pk)
        )
    return traces.order_by("-timestamp", "-pk")


def add_totals(project, traces):
    """Set each trace's totals from its observations, in one grouped query.

    Sets ``observation_count``, ``total_tokens`` (None without
    observations), ``total_cost`` (None when nothing was priced),
    ``has_unpriced``, ``has_error`` and ``latency_seconds``.
    """
    rows = (
        Observation.objects.filter(
            project=project, trace_id__in=[trace.trace_id for trace in traces]
        )
        .order_by()
        .values("trace_id")
        .annotate(
            count=Count("id"),
            tokens=Sum(
                reports.usage_tokens(reports.INPUT_USAGE_KEYS)
                + reports.usage_tokens(reports.OUTPUT_USAGE_KEYS)
            ),
            cost=Sum("total_cost"),
            unpriced=Count("id", filter=reports.UNPRICED),
            errors=Count("id", filter=Q(level="ERROR")),
            first_start=Min("start_time"),
            last_end=Max("end_time"),
        )
    )
    totals = {row["trace_id"]: row for row in rows}
    for trace in traces:
        row = totals.get(trace.trace_id)
        trace.observation_count = row["count"] if row else 0
        trace.total_tokens = int(row["tokens"] or 0) if row else None
        trace.total_cost = row["cost"] if row else None
        trace.has_unpriced = bool(row and row["unpriced"])
        trace.has_error = bool(row and row["errors"])
        trace.latency_seconds = (
            (row["last_end"] - row["first_start"]).total_seconds()
            if row and row["first_start"] and row["last_end"]
            else None
        )
    return traces


def trace_page(project, filters, size):
    """``(traces, next cursor or None)``: one page of the filtered list."""
    rows = list(filtered_traces(project, filters)[: size + 1])
    traces = add_totals(project, rows[:size])
    cursor = None
    if len(rows) > size:
        cursor = format_cursor(traces[-1].timestamp, traces[-1].pk)
    return traces, cursor


def filter_suggestions(project):
    """Models and prompt names to suggest in the filter form.

    Models come from the last 30 days of day buckets, not from raw calls,
    so the suggestion costs the same however many calls were made.
    """
    since = datetime.combine(timezone.now().date() - 30 * DAY, time.min, tzinfo=UTC)
    buckets = UsageBucket.objects.filter(
        project=project, granularity=Granularity.DAY, bucket_start__gte=since
    ).order_by()
    models = buckets.exclude(model="").values_list("model", flat=True).distinct()
    prompts = Prompt.objects.filter(project=project).values_list("name", flat=True)
    return {"models": sorted(models)[:200], "prompts": sorted(prompts)[:500]}
