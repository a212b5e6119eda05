"""Report pages about token inflation and model choice (``tracing.insights``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.views import open_project

from . import insights


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
