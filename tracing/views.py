"""Trace pages: the list, one trace as a tree, and the cost overview."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from prompts.models import PromptVersion
from workbench.views import open_project, pretty_json

from . import reports
from .model_prices import price_note
from .models import BackgroundJob, Observation, PriceSource, Score, Trace

PAGE_SIZE = 50
CURSOR_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# The trace list


def parse_moment(text):
    """A datetime from a ``datetime-local`` or date field (UTC when naive)."""
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(text)
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def format_cursor(trace):
    stamp = trace.timestamp.astimezone(UTC).strftime(CURSOR_TIME_FORMAT)
    return f"{stamp},{trace.pk}"


def parse_cursor(text):
    """``(timestamp, pk)`` from ``format_cursor``'s text; ValueError if malformed."""
    stamp, _, pk = text.rpartition(",")
    moment = datetime.fromisoformat(stamp.replace(" ", "+"))
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment, int(pk)


@dataclass
class TraceFilters:
    user: str = ""
    session: str = ""
    name: str = ""
    prompt: str = ""
    version: int | None = None
    errors_only: bool = False
    start: datetime | None = None
    end: datetime | None = None
    before: tuple | None = None
    problems: list = field(default_factory=list)

    @classmethod
    def from_query(cls, query):
        filters = cls(
            user=query.get("user", "").strip(),
            session=query.get("session", "").strip(),
            name=query.get("name", "").strip(),
            prompt=query.get("prompt", "").strip(),
            errors_only=query.get("errors") == "1",
        )
        filters.version = filters._parsed(query, "version", int)
        filters.start = filters._parsed(query, "from", parse_moment)
        filters.end = filters._parsed(query, "to", parse_moment)
        filters.before = filters._parsed(query, "before", parse_cursor)
        return filters

    def _parsed(self, query, key, parse):
        text = query.get(key, "").strip()
        if not text:
            return None
        try:
            return parse(text)
        except ValueError:
            # A bad filter is reported on the page and ignored, not a 500.
            self.problems.append(f"{key}: '{text}' is not understood, ignored.")
            return None


def prompt_used(project, filters):
    """Traces with an observation that used the filtered prompt (and version)."""
    by_name = Q(prompt_name=filters.prompt) | Q(
        prompt_version__prompt__name=filters.prompt,
        prompt_version__prompt__project=project,
    )
    observations = Observation.objects.filter(
        by_name, project=project, trace_id=OuterRef("trace_id")
    )
    if filters.version is not None:
        observations = observations.filter(
            Q(prompt_version_number=filters.version)
            | Q(prompt_version__number=filters.version)
        )
    return Exists(observations)


def filtered_traces(project, filters):
    traces = reports.traces_with_totals(project)
    if filters.user:
        traces = traces.filter(user_id=filters.user)
    if filters.session:
        traces = traces.filter(session_id=filters.session)
    if filters.name:
        traces = traces.filter(name__icontains=filters.name)
    if filters.prompt:
        traces = traces.filter(prompt_used(project, filters))
    if filters.errors_only:
        traces = traces.filter(has_error=True)
    if filters.start:
        traces = traces.filter(timestamp__gte=filters.start)
    if filters.end:
        traces = traces.filter(timestamp__lt=filters.end)
    if filters.before:
        # Keyset pagination: rows strictly after the cursor in (-time, -id)
        # order, so pages never overlap or skip when new traces arrive.
        moment, pk = filters.before
        traces = traces.filter(Q(timestamp__lt=moment) | Q(timestamp=moment, pk__lt=pk))
    return traces.order_by("-timestamp", "-pk")


def with_display_totals(trace):
    trace.total_tokens = (
        None
        if trace.observation_count == 0
        else int((trace.input_tokens or 0) + (trace.output_tokens or 0))
    )
    trace.latency_seconds = (
        (trace.last_end - trace.first_start).total_seconds()
        if trace.first_start and trace.last_end
        else None
    )
    return trace


@login_required
def trace_list(request, project_slug):
    project = open_project(request, project_slug)
    filters = TraceFilters.from_query(request.GET)
    page = list(filtered_traces(project, filters)[: PAGE_SIZE + 1])
    has_more = len(page) > PAGE_SIZE
    traces = [with_display_totals(trace) for trace in page[:PAGE_SIZE]]
    next_query = None
    if has_more:
        query = request.GET.copy()
        query["before"] = format_cursor(traces[-1])
        next_query = query.urlencode()
    first_query = request.GET.copy()
    first_query.pop("before", None)
    context = {
        "traces": traces,
        "filters": filters,
        "next_query": next_query,
        "first_query": first_query.urlencode() if filters.before else None,
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
        "total_cost": sum(costs) if costs else None,
        "has_unpriced": any(row["unpriced"] for row in rows),
        "scores": Score.objects.filter(project=project, trace_id=trace.trace_id),
        "input_json": pretty_json(trace.input),
        "output_json": pretty_json(trace.output),
        "metadata_json": pretty_json(trace.metadata),
        "section": "traces",
    }
    return render(request, "tracing/trace_detail.html", context)


# Costs


@login_required
def cost_overview(request, project_slug):
    project = open_project(request, project_slug)
    context = {
        "windows": reports.cost_overview(project),
        "section": "costs",
    }
    return render(request, "tracing/cost_overview.html", context)


# Background jobs


@login_required
def job_progress(request, project_slug, job_id):
    """A job's progress bar; the fragment polls this URL until the job ends."""
    project = open_project(request, project_slug)
    job = get_object_or_404(BackgroundJob, project=project, pk=job_id)
    context = {"job": job, "current_project": project}
    return render(request, "tracing/partials/job_progress.html", context)
