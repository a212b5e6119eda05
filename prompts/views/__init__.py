"""Prompt pages: list, detail with labels and deployment history, one version."""

import json
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Max, Prefetch, Q
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import render

from tracing import insights
from tracing.models import Observation
from workbench.models import Role
from workbench.views import open_project, pretty_json

from ..models import (
    LATEST,
    VARIABLE_PATTERN,
    Label,
    LabelMove,
    Prompt,
    PromptType,
    PromptVersion,
)
from ..selectors import PRODUCTION, prompt_for_user

HISTORY_LIMIT = 100
# A thread is open while its first comment is neither resolved nor deleted.
OPEN_THREADS = Q(
    comments__parent__isnull=True,
    comments__resolved_at__isnull=True,
    comments__deleted_at__isnull=True,
)


def api_host(request):
    return request.build_absolute_uri("/").rstrip("/")


def python_string(text):
    # A JSON string is also a valid Python string literal, quotes escaped.
    return json.dumps(text, ensure_ascii=False)


def fetch_example(versions, labels):
    """What the "How to fetch" snippet asks for, and the version it gets.

    ``production`` when the prompt has it (the SDKs' default), else its
    first other label, else the newest version by number: never a label
    the prompt does not have. ``versions`` are newest first.
    """
    if not versions:
        return None
    named = [label for label in labels if label.name != LATEST]
    chosen = next((label for label in named if label.name == PRODUCTION), None)
    chosen = chosen or (named[0] if named else None)
    if chosen is None:
        return {"label": None, "version": versions[0]}
    served = next(version for version in versions if version.id == chosen.version_id)
    return {"label": chosen.name, "version": served}


# The prompt list


@dataclass
class PromptFilters:
    q: str
    folder: str
    type: str
    tag: str
    label: str
    flat: bool

    @classmethod
    def from_query(cls, query):
        return cls(
            q=query.get("q", "").strip(),
            folder=query.get("folder", "").strip().strip("/"),
            type=query.get("type", ""),
            tag=query.get("tag", ""),
            label=query.get("label", ""),
            flat=query.get("flat") == "1",
        )

    @property
    def searching(self):
        """A search shows every match below the folder, not one folder level."""
        return bool(self.q or self.type or self.tag or self.label or self.flat)


def folder_of(name):
    return name.rpartition("/")[0]


def subfolders(names, folder):
    """``[(path, count)]`` of the folders directly inside ``folder``."""
    prefix = f"{folder}/" if folder else ""
    counts = {}
    for name in names:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        if "/" in rest:
            child = prefix + rest.split("/", 1)[0]
            counts[child] = counts.get(child, 0) + 1
    return sorted(counts.items())


def breadcrumb(folder):
    """``[(label, path)]`` from the top down to ``folder``."""
    crumbs = []
    parts = folder.split("/") if folder else []
    for index, part in enumerate(parts):
        crumbs.append((part, "/".join(parts[: index + 1])))
    return crumbs


def listed_prompts(project, filters):
    """The prompts matching ``filters``, with labels, version count and update time."""
    prompts = (
        Prompt.objects.filter(project=project)
        .annotate(
            version_count=Count("versions"),
            last_updated=Greatest(
                Coalesce(Max("versions__created_at"), F("updated_at")), F("updated_at")
            ),
        )
        .prefetch_related(
            Prefetch(
                "labels",
                queryset=Label.objects.annotate(version_number=F("version__number"))
                .only("id", "name", "prompt_id")
                .order_by("name"),
            )
        )
        .order_by("name")
    )
    if filters.folder:
        prompts = prompts.filter(name__startswith=f"{filters.folder}/")
    if filters.q:
        prompts = prompts.filter(name__icontains=filters.q)
    if filters.type:
        prompts = prompts.filter(type=filters.type)
    if filters.label:
        prompts = prompts.filter(labels__name=filters.label)
    found = list(prompts)
    if filters.tag:
        # Tags are a JSON list; SQLite cannot filter on containment.
        found = [prompt for prompt in found if filters.tag in prompt.tags]
    if not filters.searching:
        found = [prompt for prompt in found if folder_of(prompt.name) == filters.folder]
    return found


@login_required
def prompt_list(request, project_slug):
    project = open_project(request, project_slug)
    filters = PromptFilters.from_query(request.GET)
    everything = list(
        Prompt.objects.filter(project=project).values_list("name", "tags")
    )
    names = [name for name, _ in everything]
    context = {
        "filters": filters,
        "prompts": listed_prompts(project, filters),
        "folders": [] if filters.searching else subfolders(names, filters.folder),
        "breadcrumb": breadcrumb(filters.folder),
        "prompt_count": len(names),
        "all_tags": sorted({tag for _, tags in everything for tag in tags or []}),
        "all_labels": Label.objects.filter(prompt__project=project)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct(),
        "types": PromptType.choices,
        "host": api_host(request),
        "section": "prompts",
    }
    return render(request, "prompts/prompt_list.html", context)


# One prompt


def prompt_calls(project, prompt):
    """Observations that used ``prompt``: by version FK or, failing that, by name."""
    return Observation.objects.filter(project=project).filter(
        Q(prompt_version__prompt=prompt)
        | Q(prompt_version__isnull=True, prompt_name=prompt.name)
    )


def calls_per_version(project, prompt):
    """``{version number: calls}`` for the observations that used ``prompt``."""
    rows = (
        prompt_calls(project, prompt)
        .annotate(
            number=Coalesce(F("prompt_version__number"), F("prompt_version_number"))
        )
        .order_by()
        .values("number")
        .annotate(calls=Count("id"))
    )
    return {row["number"]: row["calls"] for row in rows}


@login_required
def prompt_detail(request, project_slug, name):
    # The review module builds on this one's page helpers, so it loads here.
    from .review import label_controls

    project = open_project(request, project_slug)
    access = prompt_for_user(request.user, project, name)
    prompt = access.prompt
    versions = list(
        prompt.versions.select_related("created_by")
        .annotate(open_comments=Count("comments", filter=OPEN_THREADS))
        .prefetch_related(
            Prefetch("labels", queryset=Label.objects.only("id", "name", "version_id"))
        )
        .order_by("-number")
    )
    calls = calls_per_version(project, prompt)
    for version in versions:
        version.call_count = calls.get(version.number, 0)
    usage = prompt_calls(project, prompt).aggregate(
        calls=Count("id"), traces=Count("trace_id", distinct=True)
    )
    labels = list(
        prompt.labels.annotate(version_number=F("version__number")).order_by("name")
    )
    label_moves = list(LabelMove.objects.filter(prompt=prompt)[:HISTORY_LIMIT])
    context = {
        "may_edit": access.can(Role.EDITOR),
        "prompt": prompt,
        "versions": versions,
        "latest": versions[0] if versions else None,
        "labels": labels,
        "label_moves": label_moves,
        "open_comments": sum(version.open_comments for version in versions),
        "call_count": usage["calls"],
        "trace_count": usage["traces"],
        "name_literal": python_string(prompt.name),
        "fetch": fetch_example(versions, labels),
        "host": api_host(request),
        "section": "prompts",
        **label_controls(access, versions, labels, label_moves),
    }
    return render(request, "prompts/prompt_detail.html", context)


# One version


@dataclass
class Segment:
    text: str
    is_variable: bool = False


def template_segments(text):
    """Split a template into plain text and ``{{variable}}`` segments.

    The template engine escapes each segment, so highlighting needs no
    ``mark_safe`` and prompt text containing HTML stays inert.
    """
    segments = []
    position = 0
    for match in VARIABLE_PATTERN.finditer(text or ""):
        if match.start() > position:
            segments.append(Segment(text[position : match.start()]))
        segments.append(Segment(match.group(0), is_variable=True))
        position = match.end()
    if position < len(text or ""):
        segments.append(Segment(text[position:]))
    return segments


def neighbour_numbers(version):
    """The previous and next version numbers of the same prompt, or None."""
    siblings = PromptVersion.objects.filter(prompt_id=version.prompt_id)
    previous = (
        siblings.filter(number__lt=version.number)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    following = (
        siblings.filter(number__gt=version.number)
        .order_by("number")
        .values_list("number", flat=True)
        .first()
    )
    return previous, following


def version_context(project, version):
    """The version page's context apart from its review and comments."""
    prompt = version.prompt
    previous, following = neighbour_numbers(version)
    return {
        "prompt": prompt,
        "short_name": prompt.name.rpartition("/")[2],
        "version": version,
        "labels": version.labels.order_by("name").values_list("name", flat=True),
        "config_json": pretty_json(version.config),
        "previous_number": previous,
        "next_number": following,
        "call_count": calls_per_version(project, prompt).get(version.number, 0),
        "version_usage": insights.version_usage(project, prompt.name, version.number),
        "section": "prompts",
    }


@login_required
def prompt_version(request, project_slug, name, number):
    # The review module builds on this one's page helpers, so it loads here.
    from .review import version_page

    project = open_project(request, project_slug)
    version = (
        PromptVersion.objects.select_related("prompt", "created_by")
        .filter(prompt__project=project, prompt__name=name, number=number)
        .first()
    )
    if version is None:
        # A prompt may itself be named ".../v/<n>"; its detail URL lands here.
        return prompt_detail(request, project_slug, f"{name}/v/{number}")
    return version_page(request, project, version)
