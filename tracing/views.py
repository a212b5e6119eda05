"""Trace pages: the list, one trace as a tree, and background job progress."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from prompts.models import PromptVersion
from workbench.views import open_project, pretty_json

from .explore import TraceFilters, filter_suggestions, filtered_traces, trace_page
from .model_prices import price_note
from .models import BackgroundJob, Observation, PriceSource, Score, Trace

__all__ = ["TraceFilters", "filtered_traces"]

PAGE_SIZE = 50


# The trace list (filters and queries in ``explore``)


@login_required
def trace_list(request, project_slug):
    project = open_project(request, project_slug)
    filters = TraceFilters.from_query(request.GET)
    traces, cursor = trace_page(project, filters, PAGE_SIZE)
    next_query = None
    if cursor:
        query = request.GET.copy()
        query["before"] = cursor
        next_query = query.urlencode()
    first_query = request.GET.copy()
    first_query.pop("before", None)
    context = {
        "traces": traces,
        "filters": filters,
        "next_query": next_query,
        "first_query": first_query.urlencode() if filters.before else None,
        "suggestions": filter_suggestions(project),
        "section": "traces",
    }
    return render(request, "tracing/trace_list.html", context)


# One trace


def observation_tree(observations):
    """``[(observation, depth)]`` in depth-first order, siblings by start time.

    Observations whose parent is missing (not yet ingested, or in another
    trace) are shown as roots rather than hidden.
    """
    by_id = {observation.observation_id: observation for observation in observations}
    children = {}
    roots = []
    for observation in sorted(observations, key=lambda o: (o.start_time, o.pk)):
        parent = observation.parent_observation_id
        if parent and parent in by_id and parent != observation.observation_id:
            children.setdefault(parent, []).append(observation)
        else:
            roots.append(observation)
    ordered = []
    seen = set()
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        observation, depth = stack.pop()
        if observation.observation_id in seen:
            continue
        seen.add(observation.observation_id)
        ordered.append((observation, depth))
        for child in reversed(children.get(observation.observation_id, [])):
            stack.append((child, depth + 1))
    # A parent cycle leaves nodes unreachable from any root; show them too.
    ordered.extend((o, 0) for o in observations if o.observation_id not in seen)
    return ordered


def is_unpriced(observation):
    """Mirrors ``reports.UNPRICED``: usage to price, but no price found."""
    return (
        observation.total_cost is None
        and observation.price_source == PriceSource.UNKNOWN
        and bool(observation.usage_details)
    )


def linked_version(observation, project):
    """The project's PromptVersion the observation was linked to, or None."""
    version = observation.prompt_version
    if version is not None and version.prompt.project_id == project.id:
        return version
    return None


def existing_versions(project, observations):
    """Which ``(name, number)`` references of unlinked observations exist.

    One query for the whole trace. A reference stays unlinked when the
    version did not exist at ingestion; it may have been created since.
    """
    wanted = {
        (o.prompt_name, o.prompt_version_number)
        for o in observations
        if linked_version(o, project) is None
        and o.prompt_name
        and o.prompt_version_number
    }
    if not wanted:
        return set()
    found = PromptVersion.objects.filter(
        prompt__project=project,
        prompt__name__in={name for name, _ in wanted},
        number__in={number for _, number in wanted},
    ).values_list("prompt__name", "number")
    return set(found) & wanted


def prompt_link(observation, project, existing):
    """The prompt version used: ``{"name", "number", "exists"}``, or None.

    ``existing`` comes from ``existing_versions``; a version that does not
    exist gets no link (its page would be a 404).
    """
    version = linked_version(observation, project)
    if version is not None:
        return {
            "name": version.prompt.name,
            "number": version.number,
            "exists": True,
            "version": version,
        }
    reference = (observation.prompt_name, observation.prompt_version_number)
    if all(reference):
        return {
            "name": reference[0],
            "number": reference[1],
            "exists": reference in existing,
        }
    return None


def prompts_used(rows):
    """The distinct prompt versions the trace's calls used, by name and number."""
    used = {}
    for row in rows:
        prompt = row["prompt"]
        if prompt is not None:
            used.setdefault((prompt["name"], prompt["number"]), prompt)
    return [used[key] for key in sorted(used)]


def observation_rows(project, trace, observations):
    start = min((o.start_time for o in observations), default=trace.timestamp)
    start = min(start, trace.timestamp)
    existing = existing_versions(project, observations)
    rows = []
    for observation, depth in observation_tree(observations):
        rows.append(
            {
                "observation": observation,
                "depth": depth,
                "offset_seconds": (observation.start_time - start).total_seconds(),
                "unpriced": is_unpriced(observation),
                "price": price_note(observation),
                "prompt": prompt_link(observation, project, existing),
                "input_json": pretty_json(observation.input),
                "output_json": pretty_json(observation.output),
                "metadata_json": pretty_json(observation.metadata),
                "model_parameters_json": pretty_json(observation.model_parameters),
            }
        )
    return rows


@login_required
def trace_detail(request, project_slug, trace_id):
    project = open_project(request, project_slug)
    trace = get_object_or_404(Trace, project=project, trace_id=trace_id)
    observations = list(
        Observation.objects.filter(project=project, trace_id=trace.trace_id)
        .select_related("prompt_version__prompt")
        .order_by("start_time", "pk")
    )
    rows = observation_rows(project, trace, observations)
    costs = [o.total_cost for o in observations if o.total_cost is not None]
    context = {
        "trace": trace,
        "rows": rows,
        "prompts_used": prompts_used(rows),
        "total_cost": sum(costs) if costs else None,
        "has_unpriced": any(row["unpriced"] for row in rows),
        "scores": Score.objects.filter(project=project, trace_id=trace.trace_id),
        "input_json": pretty_json(trace.input),
        "output_json": pretty_json(trace.output),
        "metadata_json": pretty_json(trace.metadata),
        "section": "traces",
    }
    return render(request, "tracing/trace_detail.html", context)


# Background jobs


@login_required
def job_progress(request, project_slug, job_id):
    """A job's progress bar; the fragment polls this URL until the job ends."""
    project = open_project(request, project_slug)
    job = get_object_or_404(BackgroundJob, project=project, pk=job_id)
    context = {"job": job, "current_project": project}
    return render(request, "tracing/partials/job_progress.html", context)
