"""The timeline of one prompt: versions, review requests, decisions,
comments and label moves, newest first."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.views import open_project

from ..models import LATEST, Comment, LabelMove, Review, ReviewRequest
from ..selectors import prompt_for_user

# Enough to cover months of a busy prompt; older events stay in the records.
EVENT_LIMIT = 200

VERSION, REQUEST, DECISION, COMMENT, LABEL = (
    "version",
    "request",
    "decision",
    "comment",
    "label",
)
KINDS = [
    (VERSION, "Versions"),
    (REQUEST, "Review requests"),
    (DECISION, "Decisions"),
    (COMMENT, "Comments"),
    (LABEL, "Label moves"),
]


@dataclass
class Event:
    """One thing that happened to the prompt; ``item`` is the record itself."""

    kind: str
    at: datetime
    actor: str
    item: object
    version_number: int | None


def version_events(prompt, limit):
    versions = prompt.versions.select_related("created_by").order_by(
        "-created_at", "-number"
    )[:limit]
    return [
        Event(
            VERSION,
            version.created_at,
            version.created_by.username
            if version.created_by
            else version.created_by_name,
            version,
            version.number,
        )
        for version in versions
    ]


def request_events(prompt, limit):
    requests = (
        ReviewRequest.objects.filter(version__prompt=prompt)
        .select_related("version", "requested_by")
        .prefetch_related("reviewers")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        Event(
            REQUEST,
            request.created_at,
            request.requested_by.username if request.requested_by else "a removed user",
            request,
            request.version.number,
        )
        for request in requests
    ]


def decision_events(prompt, limit):
    decisions = (
        Review.objects.filter(version__prompt=prompt)
        .select_related("version")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        Event(
            DECISION,
            review.created_at,
            review.reviewer_name,
            review,
            review.version.number,
        )
        for review in decisions
    ]


def comment_events(prompt, limit):
    comments = (
        Comment.objects.filter(version__prompt=prompt)
        .select_related("version")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        Event(
            COMMENT,
            comment.created_at,
            comment.author_name,
            comment,
            comment.version.number,
        )
        for comment in comments
    ]


def label_events(prompt, limit):
    # "latest" follows every new version; its moves would repeat those events.
    moves = (
        LabelMove.objects.filter(prompt=prompt)
        .exclude(label=LATEST)
        .order_by("-moved_at", "-id")[:limit]
    )
    return [
        Event(LABEL, move.moved_at, move.moved_by_name, move, move.to_version)
        for move in moves
    ]


EVENT_SOURCES = {
    VERSION: version_events,
    REQUEST: request_events,
    DECISION: decision_events,
    COMMENT: comment_events,
    LABEL: label_events,
}


def prompt_timeline(prompt, kinds, limit=EVENT_LIMIT):
    """The newest ``limit`` events of ``kinds``, newest first.

    One query per kind (two for requests, with their reviewers), each
    bounded by ``limit``, so the merge never holds more than it shows
    times the number of kinds.
    """
    events = []
    for kind in kinds:
        events.extend(EVENT_SOURCES[kind](prompt, limit))
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


@login_required
def prompt_history(request, project_slug, name):
    """Everything that happened to the prompt; ``?kind=`` keeps one kind."""
    project = open_project(request, project_slug)
    prompt = prompt_for_user(request.user, project, name).prompt
    kind = request.GET.get("kind", "")
    kinds = [kind] if kind in EVENT_SOURCES else list(EVENT_SOURCES)
    events = prompt_timeline(prompt, kinds)
    context = {
        "prompt": prompt,
        "events": events,
        "kind": kind if kind in EVENT_SOURCES else "",
        "kinds": KINDS,
        "limit": EVENT_LIMIT,
        "section": "prompts",
    }
    return render(request, "prompts/prompt_history.html", context)
