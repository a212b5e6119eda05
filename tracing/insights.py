"""Insights that save money, read from the usage roll-ups.

Three reads: which prompt versions use far more tokens per call than the
version before them (token inflation), how the models used for one prompt or
feature compare on cost, latency, errors and scores (model choice), and one
prompt version's recent usage (the panel on its page).

Calls, tokens, cost, errors and latency come from ``UsageBucket`` rows (via
``usage.window_buckets``); scores are not rolled up, so they are read with one
aggregate query that joins scores to the calls they judge.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils import timezone

from prompts.models import LATEST, LabelMove, PromptVersion

from . import explore
from .histograms import Histogram
from .models import Observation, Score, ScoreDataType, Trace
from .reports import LLM_CALL_TYPES
from .rollups import hour_of, trace_feature
from .usage import ceil_hour, window_buckets

DEFAULT_PERIOD = timedelta(days=30)
# Long enough for a year-over-year look, short enough to stay a bucket read.
MAX_PERIOD = timedelta(days=366)
DEFAULT_FACTOR = Decimal("1.5")
MAX_FACTOR = Decimal(100)
DEFAULT_TOLERANCE = Decimal("0.95")
MIN_TOLERANCE = Decimal("0.5")
# Label moves shown around an inflation start this long before its first call.
HISTORY_LEAD = timedelta(days=7)
SCORE_TYPES = (ScoreDataType.NUMERIC, ScoreDataType.BOOLEAN)
GROUPINGS = ("prompt", "feature")
TOKENS_PLACES = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")
COST_PLACES = Decimal("0.000000000001")


class InsightInputError(Exception):
    """A report parameter that cannot be used; ``field`` names it."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# Parameters -----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in whole UTC hours, the granularity buckets answer in."""

    start: datetime
    end: datetime

    @property
    def days(self):
        return round((self.end - self.start) / timedelta(days=1), 1)


def parse_moment(text, field_name):
    """A UTC datetime from an ISO datetime or a date (midnight), or fail."""
    try:
        return explore.parse_moment(text)
    except ValueError:
        raise InsightInputError(
            field_name, f"'{text}' is not a date or date and time (ISO 8601)."
        ) from None


def report_period(start=None, end=None, *, now=None):
    """The period asked for: ``end`` defaults to now, ``start`` to 30 days before.

    Both are widened to whole hours. Raises InsightInputError naming ``from``
    or ``to`` when the period is empty, reversed or longer than a year.
    """
    end = ceil_hour(end or now or timezone.now())
    start = hour_of(start) if start is not None else end - DEFAULT_PERIOD
    if start >= end:
        raise InsightInputError("from", "must be before 'to'.")
    if end - start > MAX_PERIOD:
        raise InsightInputError(
            "from", f"the period may not be longer than {MAX_PERIOD.days} days."
        )
    return Period(start, end)


def checked_factor(value):
    """``value`` as a Decimal inflation factor, or InsightInputError("factor")."""
    return _checked_decimal(
        value,
        "factor",
        lambda number: Decimal(1) < number <= MAX_FACTOR,
        f"must be greater than 1 and at most {MAX_FACTOR}.",
    )


def checked_tolerance(value):
    """``value`` as a Decimal score tolerance, or InsightInputError("tolerance")."""
    return _checked_decimal(
        value,
        "tolerance",
        lambda number: MIN_TOLERANCE <= number <= 1,
        f"must be between {MIN_TOLERANCE} and 1.",
    )


def _checked_decimal(value, field_name, accept, reason):
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise InsightInputError(field_name, f"'{value}' is not a number.") from None
    if not number.is_finite() or not accept(number):
        raise InsightInputError(field_name, reason)
    return number


def checked_grouping(value):
    if value not in GROUPINGS:
        raise InsightInputError("by", f"must be one of {', '.join(GROUPINGS)}.")
    return value


def report_query(query, *, factor=False, tolerance=False, by=False, now=None):
    """The parameters of a report from a query dict, and what is wrong with them.

    Returns ``(values, errors)``: ``values`` holds ``period`` and, when asked
    for, ``factor``, ``tolerance`` and ``by``; ``errors`` maps each bad
    parameter's name to the reason. Pages show the errors in their form,
    the API answers 400 with them.
    """
    values, errors = {}, {}

    def read(name, check, default):
        text = (query.get(name) or "").strip()
        if not text:
            return default
        try:
            return check(text)
        except InsightInputError as error:
            errors[error.field] = error.reason
            return default

    start = read("from", lambda text: parse_moment(text, "from"), None)
    end = read("to", lambda text: parse_moment(text, "to"), None)
    if factor:
        values["factor"] = read("factor", checked_factor, DEFAULT_FACTOR)
    if tolerance:
        values["tolerance"] = read("tolerance", checked_tolerance, DEFAULT_TOLERANCE)
    if by:
        values["by"] = read("by", checked_grouping, GROUPINGS[0])
    if "from" not in errors and "to" not in errors:
        try:
            values["period"] = report_period(start, end, now=now)
        except InsightInputError as error:
            errors[error.field] = error.reason
    return values, errors


# Shared measures ----------------------------------------------------------------


def _mean(total, count, places):
    if not count:
        return None
    return (Decimal(total) / count).quantize(places, rounding=ROUND_HALF_UP)


@dataclass
class Usage:
    """Calls of one group summed over a period's buckets."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced_calls: int = 0
    latency: Histogram = field(default_factory=Histogram)
    first_bucket: datetime | None = None

    def add(self, row):
        """Add one bucket, as a ``values()`` dict of ``BUCKET_COLUMNS``."""
        self.calls += row["calls"]
        self.errors += row["errors"]
        self.input_tokens += row["input_tokens"]
        self.output_tokens += row["output_tokens"]
        self.total_tokens += row["total_tokens"]
        self.cost += row["cost"]
        self.unpriced_calls += row["unpriced_calls"]
        self.latency.merge(Histogram.from_dict(row["latency_histogram"]))
        if self.first_bucket is None or row["bucket_start"] < self.first_bucket:
            self.first_bucket = row["bucket_start"]

    @property
    def priced_calls(self):
        return self.calls - self.unpriced_calls

    @property
    def mean_total_tokens(self):
        return _mean(self.total_tokens, self.calls, TOKENS_PLACES)

    @property
    def mean_input_tokens(self):
        return _mean(self.input_tokens, self.calls, TOKENS_PLACES)

    @property
    def mean_output_tokens(self):
        return _mean(self.output_tokens, self.calls, TOKENS_PLACES)

    @property
    def cost_per_call(self):
        """Over priced calls only: unpriced ones would drag it towards zero."""
        return _mean(self.cost, self.priced_calls, COST_PLACES)

    @property
    def error_rate(self):
        return _mean(self.errors, self.calls, RATIO_PLACES)

    @property
    def error_percent(self):
        rate = self.error_rate
        return None if rate is None else rate * 100

    def latency_quantile(self, q):
        value = self.latency.quantile(q)
        return None if value is None else round(value, 3)

    @property
    def p50(self):
        return self.latency_quantile(0.5)

    @property
    def p95(self):
        return self.latency_quantile(0.95)

    @property
    def p99(self):
        return self.latency_quantile(0.99)


BUCKET_COLUMNS = (
    "bucket_start",
    "calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
    "unpriced_calls",
    "latency_histogram",
)


def _usage_by(buckets, key_columns):
    """{key tuple: Usage} over ``buckets``, in one query."""
    found = {}
    for row in buckets.order_by().values(*key_columns, *BUCKET_COLUMNS).iterator():
        key = tuple(row[column] for column in key_columns)
        found.setdefault(key, Usage()).add(row)
    return found


@dataclass
class ScoreStat:
    """Sums of one score name's values over a group of calls."""

    name: str
    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, count, total, squares):
        self.count += count
        self.total += total
        self.squares += squares

    @property
    def mean(self):
        return round(self.total / self.count, 4) if self.count else None

    @property
    def std(self):
        """The sample standard deviation, or None below two values."""
        if self.count < 2:
            return None
        variance = (self.squares - self.total**2 / self.count) / (self.count - 1)
        return round(math.sqrt(max(variance, 0.0)), 4)

    def p_value_against(self, other):
        """Welch's t-test p-value for this mean differing from ``other``'s.

        None when either side has fewer than two scores, or when neither
        varies (the test is undefined; the means say all there is).
        """
        if self.count < 2 or other.count < 2:
            return None
        if not (self.std or other.std):
            return None
        from scipy.stats import ttest_ind_from_stats

        result = ttest_ind_from_stats(
            self.total / self.count,
            self.std,
            self.count,
            other.total / other.count,
            other.std,
            other.count,
            equal_var=False,
        )
        return round(float(result.pvalue), 4)


# Scores joined to the calls they judge ------------------------------------------

# Observation columns a score aggregate may be grouped or filtered by.
SCORE_GROUP_COLUMNS = ("prompt_name", "prompt_version_number", "model", "trace_id")


def _scored_calls_sql(columns, filters):
    """SQL for (score, call group) pairs: a score on a call, or on its trace.

    A trace-level score judges every call of its trace; UNION (not UNION
    ALL) keeps one row per score and group, so a trace with three calls of
    one model counts its score once for that model.
    """
    quote = connection.ops.quote_name
    score = quote(Score._meta.db_table)
    observation = quote(Observation._meta.db_table)
    selected = "".join(f"o.{quote(column)} AS {quote(column)}, " for column in columns)
    where = [
        "s.project_id = %s",
        "s.data_type IN (%s, %s)",
        "s.value IS NOT NULL",
        "o.type IN (%s, %s)",
        "o.start_time >= %s",
        "o.start_time < %s",
        "o.model IS NOT NULL",
        "o.model <> ''",
        *(f"o.{quote(column)} = %s" for column in filters),
    ]
    for column in columns:
        if column != "prompt_version_number":
            where.append(f"o.{quote(column)} IS NOT NULL AND o.{quote(column)} <> ''")
    base = (
        f"SELECT s.id AS score_pk, {selected}s.name AS score_name, "
        f"s.value AS score_value FROM {score} s JOIN {observation} o "
        "ON o.project_id = s.project_id AND {join} WHERE " + " AND ".join(where)
    )
    on_call = base.format(join="o.observation_id = s.observation_id")
    on_trace = base.format(
        join="o.trace_id = s.trace_id AND "
        "(s.observation_id IS NULL OR s.observation_id = '')"
    )
    return f"{on_call} UNION {on_trace}"


def _project_param(project):
    """The project's key as the backend stores it (UUIDs are text on SQLite)."""
    return project._meta.pk.get_db_prep_value(project.pk, connection)


def _score_params(project, period, filters):
    """Parameters of one half of ``_scored_calls_sql``, in placeholder order."""
    adapt = connection.ops.adapt_datetimefield_value
    return [
        _project_param(project),
        *(kind.value for kind in SCORE_TYPES),
        *(kind.value for kind in LLM_CALL_TYPES),
        adapt(period.start),
        adapt(period.end),
        *filters.values(),
    ]


def score_stats(project, period, columns, filters=None):
    """{(*column values, score name): ScoreStat} in one aggregate query.

    Numeric and boolean scores of LLM calls that started in ``period`` and
    have a model, grouped by the calls' ``columns`` (from
    ``SCORE_GROUP_COLUMNS``) and restricted to calls whose columns equal
    ``filters``. Booleans count as 0 and 1, so their mean is a rate.
    """
    filters = filters or {}
    unknown = set(columns) - set(SCORE_GROUP_COLUMNS)
    unknown |= set(filters) - set(SCORE_GROUP_COLUMNS)
    if unknown:
        raise ValueError(f"cannot group scores by {sorted(unknown)}")
    quote = connection.ops.quote_name
    grouped = "".join(f"scored.{quote(column)}, " for column in columns)
    sql = (
        f"SELECT {grouped}scored.score_name, COUNT(*), SUM(scored.score_value), "
        "SUM(scored.score_value * scored.score_value) "
        f"FROM ({_scored_calls_sql(columns, filters)}) scored "
        f"GROUP BY {grouped}scored.score_name"
    )
    params = _score_params(project, period, filters) * 2
    stats = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for *key, name, count, total, squares in cursor.fetchall():
            stat = stats.setdefault((*key, name), ScoreStat(name))
            stat.add(count, total or 0.0, squares or 0.0)
    return stats


def feature_score_stats(project, period):
    """{(feature, model, score name): ScoreStat}, in one aggregate query.

    Scores are summed per trace and model in SQL; each trace's feature comes
    from its metadata and tags in the same query (``trace_feature``).
    """
    quote = connection.ops.quote_name
    trace_table = quote(Trace._meta.db_table)
    sql = (
        "SELECT t.metadata, t.tags, scored.model, scored.score_name, COUNT(*), "
        "SUM(scored.score_value), SUM(scored.score_value * scored.score_value) "
        f"FROM ({_scored_calls_sql(('trace_id', 'model'), {})}) scored "
        f"JOIN {trace_table} t ON t.project_id = %s "
        "AND t.trace_id = scored.trace_id "
        "GROUP BY t.id, t.metadata, t.tags, scored.model, scored.score_name"
    )
    params = [*_score_params(project, period, {}) * 2, _project_param(project)]
    stats = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for metadata, tags, model, name, count, total, squares in cursor.fetchall():
            feature = trace_feature(_json(metadata), _json(tags), project.feature_key)
            if not feature:
                continue
            stat = stats.setdefault((feature, model, name), ScoreStat(name))
            stat.add(count, total or 0.0, squares or 0.0)
    return stats


def _json(value):
    """A JSON column read by a raw query: text on some backends, parsed on others."""
    return json.loads(value) if isinstance(value, str | bytes) else value


# Token inflation ----------------------------------------------------------------


@dataclass
class LabelChange:
    """One label move of a prompt, as the deployment history recorded it."""

    label: str
    from_version: int | None
    to_version: int | None
    moved_at: datetime
    moved_by: str

    @property
    def text(self):
        if self.from_version is None:
            return f"{self.label} set to v{self.to_version}"
        if self.to_version is None:
            return f"{self.label} removed from v{self.from_version}"
        return f"{self.label} moved v{self.from_version} → v{self.to_version}"


@dataclass
class Inflation:
    """A version whose mean tokens per call rose by the factor or more."""

    prompt_name: str
    before_version: int
    after_version: int
    before: Usage
    after: Usage
    ratio: Decimal
    label_changes: list = field(default_factory=list)
    # Whether both versions exist in the registry, so the diff page can show them.
    in_registry: bool = False

    @property
    def history_since(self):
        return self.after.first_bucket - HISTORY_LEAD


def token_inflation(project, period, *, factor=DEFAULT_FACTOR):
    """Versions whose mean total tokens per call is ``factor`` times the previous.

    Each version with calls in ``period`` is compared with the closest lower
    version of the same prompt that also has calls in it; a previous mean
    of zero (usage not reported) gives no ratio. Largest ratio first, each
    with the prompt's label moves from ``HISTORY_LEAD`` before the new
    version's first bucket on. Three queries in all.
    """
    buckets = window_buckets(project, period.start, period.end).exclude(prompt_name="")
    usage = _usage_by(
        buckets.filter(prompt_version__isnull=False),
        ("prompt_name", "prompt_version"),
    )
    by_prompt = {}
    for (name, number), measures in usage.items():
        if measures.calls:
            by_prompt.setdefault(name, []).append((number, measures))
    found = []
    for name, versions in by_prompt.items():
        versions.sort(key=lambda pair: pair[0])
        for (old_number, old), (new_number, new) in zip(
            versions, versions[1:], strict=False
        ):
            if not old.total_tokens:
                continue
            ratio = (Decimal(new.total_tokens) / new.calls) / (
                Decimal(old.total_tokens) / old.calls
            )
            if ratio >= factor:
                found.append(
                    Inflation(
                        prompt_name=name,
                        before_version=old_number,
                        after_version=new_number,
                        before=old,
                        after=new,
                        ratio=ratio.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP),
                    )
                )
    _attach_registry_facts(project, found)
    found.sort(key=lambda item: (-item.ratio, item.prompt_name, item.after_version))
    return found


def _attach_registry_facts(project, inflations):
    """Fill each inflation's label moves and registry flag (two queries)."""
    if not inflations:
        return
    names = {item.prompt_name for item in inflations}
    existing = set(
        PromptVersion.objects.filter(
            prompt__project=project, prompt__name__in=names
        ).values_list("prompt__name", "number")
    )
    moves = (
        LabelMove.objects.filter(
            prompt__project=project,
            prompt__name__in=names,
            moved_at__gte=min(item.history_since for item in inflations),
        )
        .exclude(label=LATEST)
        .order_by("moved_at", "id")
        .values_list(
            "prompt__name",
            "label",
            "from_version",
            "to_version",
            "moved_at",
            "moved_by_name",
        )
    )
    changes = {}
    for name, *change in moves:
        changes.setdefault(name, []).append(LabelChange(*change))
    for item in inflations:
        item.in_registry = {
            (item.prompt_name, item.before_version),
            (item.prompt_name, item.after_version),
        } <= existing
        item.label_changes = [
            change
            for change in changes.get(item.prompt_name, [])
            if change.moved_at >= item.history_since
        ]


# Model choice ---------------------------------------------------------------------


@dataclass
class ModelRow:
    """One model's usage and scores within one prompt or feature."""

    model: str
    usage: Usage
    scores: dict = field(default_factory=dict)
    # Scores within tolerance of the best on every score name of the group.
    does_as_well: bool = False
    # (ScoreStat or None, p-value or None) per score name, in the group's order.
    score_cells: list = field(default_factory=list)
    # Welch p-value against the best model, per score name (None: not tested).
    p_values: dict = field(default_factory=dict)

    def score_mean(self, name):
        stat = self.scores.get(name)
        return stat.mean if stat else None


@dataclass
class ModelComparison:
    """The models one prompt or feature used, most calls first."""

    key: str
    models: list
    score_names: list
    # The cheapest model that does as well, and the dearer one it could replace.
    cheaper: ModelRow | None = None
    instead_of: ModelRow | None = None

    @property
    def saving(self):
        """The cheaper model's cost per call below the dearer one's, as 0..1."""
        if self.cheaper is None:
            return None
        return (
            1 - self.cheaper.usage.cost_per_call / self.instead_of.usage.cost_per_call
        )

    @property
    def saving_percent(self):
        saving = self.saving
        return None if saving is None else round(saving * 100, 1)


def model_choice(project, period, *, by="prompt", tolerance=DEFAULT_TOLERANCE):
    """Prompts (or features) that used more than one model in ``period``.

    Per model: usage from the buckets and score statistics from one
    aggregate query. A model "does as well" when its mean is at least
    ``tolerance`` of the best model's mean on every score name the group
    has (higher scores are taken to be better). Groups by largest call
    count first.
    """
    column = {"prompt": "prompt_name", "feature": "feature"}[checked_grouping(by)]
    buckets = window_buckets(project, period.start, period.end).exclude(model="")
    usage = _usage_by(buckets.exclude(**{column: ""}), (column, "model"))
    models_per_key = {}
    for (key, model), measures in usage.items():
        if measures.calls:
            models_per_key.setdefault(key, {})[model] = ModelRow(model, measures)
    compared = {key: rows for key, rows in models_per_key.items() if len(rows) > 1}
    if not compared:
        return []
    if by == "feature":
        stats = feature_score_stats(project, period)
    else:
        stats = score_stats(project, period, ("prompt_name", "model"))
    for (key, model, name), stat in stats.items():
        row = compared.get(key, {}).get(model)
        if row is not None:
            row.scores[name] = stat
    comparisons = [
        _compare(key, list(rows.values()), tolerance) for key, rows in compared.items()
    ]
    comparisons.sort(
        key=lambda item: (-sum(r.usage.calls for r in item.models), item.key)
    )
    return comparisons


def _within(mean, best, tolerance):
    """Whether ``mean`` is within ``tolerance`` of ``best`` (any sign of best)."""
    return Decimal(str(mean)) >= Decimal(str(best)) - abs(Decimal(str(best))) * (
        1 - tolerance
    )


def _test_against_best(rows, names):
    """Fill each row's p-value against the best-scoring model, per score name.

    A high p-value says the gap to the best may well be noise, which is what
    makes a cheaper model's "does as well" worth acting on.
    """
    for name in names:
        scored = [row for row in rows if name in row.scores]
        best = max(scored, key=lambda row: (row.score_mean(name), row.model))
        for row in scored:
            if row is not best:
                row.p_values[name] = row.scores[name].p_value_against(best.scores[name])


def _compare(key, rows, tolerance):
    rows.sort(key=lambda row: (-row.usage.calls, row.model))
    names = sorted({name for row in rows for name in row.scores})
    comparison = ModelComparison(key=key, models=rows, score_names=names)
    if not names:
        return comparison
    best = {
        name: max(r.score_mean(name) for r in rows if name in r.scores)
        for name in names
    }
    for row in rows:
        row.does_as_well = all(
            name in row.scores and _within(row.score_mean(name), best[name], tolerance)
            for name in names
        )
    _test_against_best(rows, names)
    for row in rows:
        row.score_cells = [
            (row.scores.get(name), row.p_values.get(name)) for name in names
        ]
    priced = [row for row in rows if row.usage.cost_per_call is not None]
    good = [row for row in priced if row.does_as_well]
    # Only a model scored on every score name can be said to be matched: an
    # unscored dearer model is no evidence that the cheap one does as well.
    scored = [row for row in priced if all(name in row.scores for name in names)]
    if not good:
        return comparison
    cheapest = min(good, key=lambda row: (row.usage.cost_per_call, row.model))
    dearest = max(scored, key=lambda row: (row.usage.cost_per_call, row.model))
    if dearest.usage.cost_per_call > cheapest.usage.cost_per_call:
        comparison.cheaper, comparison.instead_of = cheapest, dearest
    return comparison


# One version's usage -----------------------------------------------------------


@dataclass
class VersionUsage:
    prompt_name: str
    number: int
    period: Period
    usage: Usage
    scores: list


def version_usage(project, prompt_name, number, *, period=None):
    """Calls, cost, tokens, latency, errors and scores of one prompt version.

    ``period`` defaults to the last 30 days. Two queries.
    """
    period = period or report_period()
    buckets = window_buckets(project, period.start, period.end).filter(
        prompt_name=prompt_name, prompt_version=number
    )
    usage = _usage_by(buckets, ()).get((), Usage())
    stats = score_stats(
        project,
        period,
        (),
        {"prompt_name": prompt_name, "prompt_version_number": number},
    )
    scores = sorted(stats.values(), key=lambda stat: stat.name)
    return VersionUsage(prompt_name, number, period, usage, scores)
