"""The Reports section: spend share, trends and unpriced models.

Every page reads the usage roll-ups (``tracing.usage``), takes its period
from the query string (``period``, ``from``, ``to``) and shows a bad one as
an error on the period chooser instead of a report.
"""

import csv
import logging
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render

from prompts.models import Prompt, PromptVersion
from workbench.views import open_project

from . import charts, usage

logger = logging.getLogger(__name__)

SPEND_DIMENSIONS = {
    "prompt": "Prompt",
    "version": "Prompt version",
    "model": "Model",
    "user": "User",
    "feature": "Feature",
}
TREND_DIMENSIONS = {key: SPEND_DIMENSIONS[key] for key in usage.TREND_DIMENSIONS}
# What an empty dimension value means, per dimension.
MISSING = {
    "prompt": "(no prompt)",
    "version": "(no prompt)",
    "model": "(no model)",
    "user": "(no user)",
    "feature": "(no feature)",
}
# The value format of a ``datetime-local`` input.
INPUT_FORMAT = "%Y-%m-%dT%H:%M"
LATENCY_LINES = (("p50", "#4e79a7"), ("p95", "#f28e2b"), ("p99", "#e15759"))


@dataclass
class ReportQuery:
    """What a report page was asked for, and what was wrong with it."""

    period: usage.Period | None
    by: str
    values: dict
    errors: dict


def report_query(request, dimensions):
    """The period and dimension of the request, with per-field errors."""
    values = {
        name: request.GET.get(name, "").strip()
        for name in ("period", "from", "to", "by")
    }
    errors = {}
    by = (values["by"] or next(iter(dimensions))) if dimensions else ""
    if dimensions and by not in dimensions:
        errors["by"] = f"'{by}' is not one of {', '.join(dimensions)}"
        by = next(iter(dimensions))
    try:
        period = usage.parse_period(values)
    except usage.PeriodError as error:
        errors[error.field] = error.reason
        period = None
    if period is not None:
        # The chooser shows the window in use, so "From – to" starts from it.
        values["period"] = period.key
        values["from"] = period.start.strftime(INPUT_FORMAT)
        values["to"] = period.end.strftime(INPUT_FORMAT)
    return ReportQuery(period=period, by=by, values=values, errors=errors)


def query_string(query, **changes):
    """The report's query string with some parameters changed."""
    params = {**query.values, "by": query.by, **changes}
    if params.get("period") != "custom":
        params["from"] = params["to"] = ""
    return urlencode({key: value for key, value in params.items() if value})


def period_context(query, dimensions):
    return {
        "periods": usage.PERIODS,
        "query": query,
        "errors": query.errors,
        "by_title": dimensions.get(query.by),
        "by_tabs": [
            (key, title, query_string(query, by=key))
            for key, title in dimensions.items()
        ],
        "export_query": query_string(query),
        "section": "reports",
    }


# Spend share


@dataclass
class SpendLine:
    """A spend row as the table shows it: text for the key, what to link."""

    row: usage.ShareRow
    label: str
    version: int | None = None
    prompt_exists: bool = False
    version_exists: bool = False


def spend_lines(project, rows, by):
    """Display lines for ``spend_share`` rows; links only to what exists."""
    names = set()
    if by == "prompt":
        names = {row.key for row in rows if row.key}
    elif by == "version":
        names = {row.key[0] for row in rows if row.key[0]}
    prompts = set(
        Prompt.objects.filter(project=project, name__in=names).values_list(
            "name", flat=True
        )
    )
    versions = set()
    if by == "version" and prompts:
        versions = set(
            PromptVersion.objects.filter(
                prompt__project=project, prompt__name__in=prompts
            ).values_list("prompt__name", "number")
        )
    lines = []
    for row in rows:
        if by == "version":
            name, number = row.key
            lines.append(
                SpendLine(
                    row=row,
                    label=name or MISSING[by],
                    version=number,
                    prompt_exists=name in prompts,
                    version_exists=(name, number) in versions,
                )
            )
        else:
            lines.append(
                SpendLine(
                    row=row,
                    label=row.key or MISSING[by],
                    prompt_exists=row.key in prompts,
                )
            )
    return lines


def spend_table(project, query):
    rows = usage.spend_share(
        project, start=query.period.start, end=query.period.end, by=query.by
    )
    return spend_lines(project, rows, query.by), usage.share_totals(rows)


@login_required
def report_spend(request, project_slug):
    project = open_project(request, project_slug)
    query = report_query(request, SPEND_DIMENSIONS)
    context = period_context(query, SPEND_DIMENSIONS)
    if query.period is not None:
        context["lines"], context["totals"] = spend_table(project, query)
    return render(request, "tracing/reports/spend.html", context)


class _Echo:
    """A write-only file for csv.writer that hands back each line."""

    def write(self, value):
        return value


def plain(value):
    """A Decimal as exact plain text: no exponent, no trailing zeros."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# The CSV's precision: a share to 4 places of a percent, a cost per call to the
# database's 12 places for costs (Observation.total_cost); more digits are noise
# of the division.
SHARE_PERCENT_PLACES = Decimal("0.0001")
COST_PLACES = Decimal("0.000000000001")


def quantized(value, places):
    """``value`` rounded half-even to ``places``, as plain text; "" for None."""
    return "" if value is None else plain(value.quantize(places))


def spend_csv_rows(query, lines, totals):
    key_columns = ["prompt", "version"] if query.by == "version" else [query.by]
    yield [
        *key_columns,
        "share_percent",
        "calls",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "cost_per_call_usd",
        "errors",
        "unpriced_calls",
    ]
    for line in [*lines, None]:
        if line is None:
            row = totals
            keys = ["Total", ""] if query.by == "version" else ["Total"]
        else:
            row = line.row
            keys = [line.label]
            if query.by == "version":
                keys.append("" if line.version is None else line.version)
        yield [
            *keys,
            quantized(row.exact_share * 100, SHARE_PERCENT_PLACES),
            row.calls,
            row.input_tokens,
            row.output_tokens,
            plain(row.cost),
            quantized(row.cost_per_call, COST_PLACES),
            row.errors,
            row.unpriced_calls,
        ]


def csv_response(rows, filename):
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def period_slug(period):
    return f"{period.start:%Y%m%dT%H}-{period.end:%Y%m%dT%H}"


@login_required
def report_spend_csv(request, project_slug):
    """The spend table of the same query, unrounded, with its totals row."""
    project = open_project(request, project_slug)
    query = report_query(request, SPEND_DIMENSIONS)
    if query.errors:
        return report_spend(request, project_slug)
    lines, totals = spend_table(project, query)
    logger.info(
        "%s exported the spend of %s by %s", request.user, project.slug, query.by
    )
    filename = f"spend-{project.slug}-by-{query.by}-{period_slug(query.period)}.csv"
    return csv_response(spend_csv_rows(query, lines, totals), filename)


# Trends


def trend_prompt(request):
    """The prompt the trends are narrowed to, or None for all calls."""
    name = request.GET.get("prompt", "").strip()
    return name or None


def trend_charts(trend):
    hourly = trend.granularity == "hour"
    slot = "Hour (UTC)" if hourly else "Day (UTC)"
    names = [
        (series.key or MISSING[trend.by], series.is_other) for series in trend.series
    ]
    common = {"starts": trend.starts, "hourly": hourly, "x_label": slot}
    cost = charts.stacked_bars(
        title="Cost per " + ("hour" if hourly else "day"),
        y_label="Cost (USD)",
        series=[
            (label, s.costs, other)
            for (label, other), s in zip(names, trend.series, strict=True)
        ],
        format_value=charts.dollars,
        **common,
    )
    calls = charts.stacked_bars(
        title="Calls per " + ("hour" if hourly else "day"),
        y_label="Calls",
        series=[
            (label, s.calls, other)
            for (label, other), s in zip(names, trend.series, strict=True)
        ],
        format_value=charts.count,
        **common,
    )
    latency = charts.line_chart(
        title="Latency",
        y_label="Seconds",
        lines=[
            (name, [getattr(point, name) for point in trend.latency], colour)
            for name, colour in LATENCY_LINES
        ],
        format_value=charts.seconds,
        **common,
    )
    return {"cost": cost, "calls": calls, "latency": latency}


def trend_table(trend):
    """The charts' figures as rows, the text alternative of the charts."""
    costs, calls = trend.cost_totals, trend.call_totals
    return [
        {
            "start": start,
            "cells": [(s.costs[slot], s.calls[slot]) for s in trend.series],
            "cost": costs[slot],
            "calls": calls[slot],
            "latency": trend.latency[slot],
        }
        for slot, start in enumerate(trend.starts)
    ]


def prompt_names_seen(project, period, chosen):
    """Prompts with calls in the period, and the chosen one in any case."""
    names = {chosen} if chosen else set()
    if period is not None:
        buckets = usage.period_buckets(project, period).exclude(prompt_name="")
        seen = buckets.order_by().values_list("prompt_name", flat=True)
        names.update(seen.distinct())
    return names


@login_required
def report_trends(request, project_slug):
    project = open_project(request, project_slug)
    query = report_query(request, TREND_DIMENSIONS)
    prompt = trend_prompt(request)
    if prompt:
        query.values["prompt"] = prompt
    context = period_context(query, TREND_DIMENSIONS)
    context["prompt_names"] = sorted(prompt_names_seen(project, query.period, prompt))
    if query.period is not None:
        trend = usage.trend(project, query.period, by=query.by, prompt=prompt)
        context.update(
            trend=trend,
            series_names=[s.key or MISSING[query.by] for s in trend.series],
            charts=trend_charts(trend),
            table=trend_table(trend),
            trend_cost=sum(trend.cost_totals, Decimal(0)),
            trend_calls=sum(trend.call_totals),
        )
    return render(request, "tracing/reports/trends.html", context)


def trend_csv_rows(trend):
    yield ["period_start_utc", trend.by, "cost_usd", "calls"]
    for series in trend.series:
        label = series.key or MISSING[trend.by]
        for start, cost, calls in zip(
            trend.starts, series.costs, series.calls, strict=True
        ):
            yield [start.strftime("%Y-%m-%dT%H:%M:%SZ"), label, plain(cost), calls]


@login_required
def report_trends_csv(request, project_slug):
    """Every series of the trends page, one row per slot and series."""
    project = open_project(request, project_slug)
    query = report_query(request, TREND_DIMENSIONS)
    if query.errors:
        return report_trends(request, project_slug)
    trend = usage.trend(
        project, query.period, by=query.by, prompt=trend_prompt(request)
    )
    filename = f"trends-{project.slug}-by-{query.by}-{period_slug(query.period)}.csv"
    return csv_response(trend_csv_rows(trend), filename)


# Unpriced models


@login_required
def report_unpriced(request, project_slug):
    project = open_project(request, project_slug)
    query = report_query(request, {})
    context = period_context(query, {})
    if query.period is not None:
        context["models"] = usage.unpriced_models(project, query.period)
    return render(request, "tracing/reports/unpriced.html", context)


def unpriced_csv_rows(models):
    yield ["model", "unpriced_calls", "calls", "first_seen_utc", "last_seen_utc"]
    for row in models:
        yield [
            row.model,
            row.unpriced_calls,
            row.calls,
            row.first_seen.isoformat(),
            row.last_seen.isoformat(),
        ]


@login_required
def report_unpriced_csv(request, project_slug):
    """The unpriced models of the same period, as CSV."""
    project = open_project(request, project_slug)
    query = report_query(request, {})
    if query.period is None:
        return report_unpriced(request, project_slug)
    models = usage.unpriced_models(project, query.period)
    filename = f"unpriced-{project.slug}-{period_slug(query.period)}.csv"
    return csv_response(unpriced_csv_rows(models), filename)


@login_required
def cost_overview(request, project_slug):
    """The old Costs page lives on as the spend report."""
    open_project(request, project_slug)
    return redirect("report-spend", project_slug)
