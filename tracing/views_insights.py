"""Report pages about token inflation and model choice (``tracing.insights``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.views import open_project

from . import insights
from .report_views import csv_response, period_slug


def _report_context(request, tab, values, errors):
    """What both report pages show around their table: the form and its errors."""
    return {
        "section": "reports",
        "report_tab": tab,
        "errors": errors,
        "period": values.get("period"),
        "query": request.GET,
    }


@login_required
def inflation_report(request, project_slug):
    """Versions whose mean tokens per call rose by ``?factor=`` or more."""
    project = open_project(request, project_slug)
    values, errors = insights.report_query(request.GET, factor=True)
    context = _report_context(request, "inflation", values, errors)
    context["factor"] = request.GET.get("factor") or insights.DEFAULT_FACTOR
    if errors:
        return render(request, "tracing/reports/inflation.html", context, status=400)
    context["inflations"] = insights.token_inflation(
        project, values["period"], factor=values["factor"]
    )
    return render(request, "tracing/reports/inflation.html", context)


@login_required
def models_report(request, project_slug):
    """Prompts or features served by several models, the models side by side."""
    project = open_project(request, project_slug)
    values, errors = insights.report_query(request.GET, tolerance=True, by=True)
    context = _report_context(request, "models", values, errors)
    context.update(
        by=values.get("by", insights.GROUPINGS[0]),
        groupings=insights.GROUPINGS,
        tolerance=request.GET.get("tolerance") or insights.DEFAULT_TOLERANCE,
        tolerance_percent=round(
            values.get("tolerance", insights.DEFAULT_TOLERANCE) * 100, 1
        ),
    )
    if errors:
        return render(request, "tracing/reports/models.html", context, status=400)
    context["comparisons"] = insights.model_choice(
        project, values["period"], by=values["by"], tolerance=values["tolerance"]
    )
    return render(request, "tracing/reports/models.html", context)


def _none_blank(value):
    """CSV cells: an absent figure is an empty cell, not the text "None"."""
    return "" if value is None else value


def inflation_csv_rows(inflations):
    yield [
        "prompt",
        "version_before",
        "version_after",
        "calls_before",
        "calls_after",
        "mean_tokens_before",
        "mean_tokens_after",
        "ratio",
        "mean_input_tokens_before",
        "mean_input_tokens_after",
        "mean_output_tokens_before",
        "mean_output_tokens_after",
        "cost_per_call_usd_before",
        "cost_per_call_usd_after",
        "label_moves",
    ]
    for item in inflations:
        before, after = item.before, item.after
        yield [
            item.prompt_name,
            item.before_version,
            item.after_version,
            before.calls,
            after.calls,
            _none_blank(before.mean_total_tokens),
            _none_blank(after.mean_total_tokens),
            item.ratio,
            _none_blank(before.mean_input_tokens),
            _none_blank(after.mean_input_tokens),
            _none_blank(before.mean_output_tokens),
            _none_blank(after.mean_output_tokens),
            _none_blank(before.cost_per_call),
            _none_blank(after.cost_per_call),
            "; ".join(change.text for change in item.label_changes),
        ]


@login_required
def inflation_csv(request, project_slug):
    """The token inflation table of the same query, as CSV."""
    project = open_project(request, project_slug)
    values, errors = insights.report_query(request.GET, factor=True)
    if errors:
        return inflation_report(request, project_slug)
    inflations = insights.token_inflation(
        project, values["period"], factor=values["factor"]
    )
    filename = f"token-inflation-{project.slug}-{period_slug(values['period'])}.csv"
    return csv_response(inflation_csv_rows(inflations), filename)


def _score_text(row, name):
    stat = row.scores.get(name)
    if stat is None:
        return f"{name}: no scores"
    text = f"{name}={stat.mean} (n={stat.count}"
    p_value = row.p_values.get(name)
    if p_value is not None:
        text += f", p={p_value}"
    return text + ")"


def models_csv_rows(comparisons):
    yield [
        "group",
        "model",
        "calls",
        "cost_per_call_usd",
        "latency_p50_s",
        "latency_p95_s",
        "error_rate",
        "does_as_well",
        "scores",
    ]
    for group in comparisons:
        for row in group.models:
            usage = row.usage
            yield [
                group.key,
                row.model,
                usage.calls,
                _none_blank(usage.cost_per_call),
                _none_blank(usage.p50),
                _none_blank(usage.p95),
                _none_blank(usage.error_rate),
                "yes" if row.does_as_well else "no",
                "; ".join(_score_text(row, name) for name in group.score_names),
            ]


@login_required
def models_csv(request, project_slug):
    """The model choice tables of the same query, one row per model, as CSV."""
    project = open_project(request, project_slug)
    values, errors = insights.report_query(request.GET, tolerance=True, by=True)
    if errors:
        return models_report(request, project_slug)
    comparisons = insights.model_choice(
        project, values["period"], by=values["by"], tolerance=values["tolerance"]
    )
    filename = (
        f"model-choice-{project.slug}-by-{values['by']}-"
        f"{period_slug(values['period'])}.csv"
    )
    return csv_response(models_csv_rows(comparisons), filename)
