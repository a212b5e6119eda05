"""Reads of the prompt registry, always scoped to one project, and the
access functions that return a prompt or version for a user or fail."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from guardian.shortcuts import get_user_perms

from workbench.models import Project, Role, role_at_least, stronger_role
from workbench.selectors import membership_for

from .errors import PromptNotFound
from .models import (
    LATEST,
    Comment,
    FolderGrant,
    Label,
    LabelMove,
    Prompt,
    PromptVersion,
    Review,
    ReviewRequest,
)

PRODUCTION = "production"


def version_for(project_id, name, *, label=None, version=None):
    """The version of ``name`` with that number or label (default production).

    Raises PromptNotFound with the message Langfuse clients expect.
    """
    versions = PromptVersion.objects.select_related("prompt").filter(
        prompt__project_id=project_id, prompt__name=name
    )
    if version is not None:
        found = versions.filter(number=version).first()
        if found is None:
            raise PromptNotFound(f"Prompt not found: '{name}' with version {version}")
        return found
    label = label or PRODUCTION
    found = versions.filter(labels__name=label).first()
    if found is None:
        raise PromptNotFound(f"Prompt not found: '{name}' with label '{label}'")
    return found


def prompt_for(project_id, name):
    prompt = Prompt.objects.filter(project_id=project_id, name=name).first()
    if prompt is None:
        raise PromptNotFound(f"Prompt not found: '{name}'")
    return prompt


def version_labels(version):
    """``[(name, updated_at)]`` of the labels on ``version``, by name."""
    return list(
        Label.objects.filter(version=version)
        .order_by("name")
        .values_list("name", "updated_at")
    )


def prompt_page(
    project_id,
    *,
    name=None,
    label=None,
    tag=None,
    from_updated_at=None,
    to_updated_at=None,
    page=1,
    limit=10,
):
    """One page of the project's prompts, by name, and the total count.

    Each row is a dict with the prompt and its ``versions`` (numbers),
    ``labels`` (union over versions) and ``last_config``; four queries
    whatever the page size.
    """
    prompts = Prompt.objects.filter(project_id=project_id).order_by("name")
    if name:
        prompts = prompts.filter(name=name)
    if label:
        prompts = prompts.filter(labels__name=label)
    if from_updated_at:
        prompts = prompts.filter(updated_at__gte=from_updated_at)
    if to_updated_at:
        prompts = prompts.filter(updated_at__lt=to_updated_at)
    if tag:
        prompts = _with_tag(prompts, tag)
    total = prompts.count()
    offset = (page - 1) * limit
    # A page past the end is empty; its offset may not even fit the database.
    page_prompts = list(prompts[offset : offset + limit]) if offset < total else []
    return _page_rows(page_prompts), total


def _with_tag(prompts, tag):
    if connection.features.supports_json_field_contains:
        return prompts.filter(tags__contains=[tag])
    # SQLite has no JSON containment: match the ids in Python instead.
    ids = [pk for pk, tags in prompts.values_list("id", "tags") if tag in tags]
    return prompts.filter(id__in=ids)


def _page_rows(prompts):
    ids = [prompt.id for prompt in prompts]
    versions = {prompt_id: [] for prompt_id in ids}
    for prompt_id, number in (
        PromptVersion.objects.filter(prompt_id__in=ids)
        .order_by("number")
        .values_list("prompt_id", "number")
    ):
        versions[prompt_id].append(number)
    labels = {prompt_id: [] for prompt_id in ids}
    for prompt_id, label_name in (
        Label.objects.filter(prompt_id__in=ids)
        .order_by("name")
        .values_list("prompt_id", "name")
    ):
        labels[prompt_id].append(label_name)
    last_configs = dict(
        PromptVersion.objects.filter(
            prompt_id__in=ids, labels__name=LATEST
        ).values_list("prompt_id", "config")
    )
    return [
        {
            "prompt": prompt,
            "versions": versions[prompt.id],
            "labels": labels[prompt.id],
            "last_config": last_configs.get(prompt.id),
        }
        for prompt in prompts
    ]


# Access -------------------------------------------------------------------

# The guardian permission that a grant of each role on one prompt assigns.
GRANT_PERMISSIONS = {
    Role.VIEWER: "view_prompt",
    Role.REVIEWER: "review_prompt",
    Role.EDITOR: "edit_prompt",
    Role.APPROVER: "approve_prompt",
    Role.ADMIN: "admin_prompt",
}
PERMISSION_ROLES = {codename: role for role, codename in GRANT_PERMISSIONS.items()}


def granted_role(user, prompt):
    """The strongest role granted to ``user`` on this prompt or its folders."""
    perms = get_user_perms(user, prompt)
    roles = [PERMISSION_ROLES.get(codename) for codename in perms]
    roles.extend(
        grant.role
        for grant in FolderGrant.objects.filter(project_id=prompt.project_id, user=user)
        if grant.covers(prompt.name)
    )
    return stronger_role(*roles)


def prompt_role(user, prompt, membership):
    """The user's effective role on ``prompt``: project role plus grants.

    Grants only add: nothing makes the role weaker than the project role.
    Non-members have none, whatever was granted to them.
    """
    if user.is_superuser:
        return Role.ADMIN
    if membership is None:
        return None
    return stronger_role(membership.role, granted_role(user, prompt))


def user_role_on(user, prompt):
    """``prompt_role`` with the user's membership looked up (once a request)."""
    return prompt_role(user, prompt, membership_for(user, prompt.project))


def project_members_with_role(prompt, role):
    """Users whose effective role on ``prompt`` is at least ``role``."""
    found = []
    for membership in prompt.project.memberships.select_related("user"):
        if role_at_least(prompt_role(membership.user, prompt, membership), role):
            found.append(membership.user)
    return found


@dataclass
class PromptAccess:
    """A prompt as one user may see it, with what they may do to it."""

    project: Project
    prompt: Prompt
    role: str

    def can(self, role):
        return role_at_least(self.role, role)


def prompt_for_user(user, project, name, *, needs=Role.VIEWER):
    """The prompt ``name`` in ``project`` for ``user``, or fail.

    Raises Http404 when the user may not see it (whether or not it exists)
    and PermissionDenied when they may see it but their role on it is below
    ``needs``.
    """
    membership = membership_for(user, project)
    if membership is None and not user.is_superuser:
        raise Http404("No such prompt.")
    prompt = Prompt.objects.filter(project=project, name=name).first()
    if prompt is None:
        raise Http404("No such prompt.")
    role = prompt_role(user, prompt, membership)
    if not role_at_least(role, needs):
        raise PermissionDenied(
            f"This needs the {needs} role on {prompt.name}; you are {role}."
        )
    return PromptAccess(project=project, prompt=prompt, role=role)


def version_for_user(user, project, name, number, *, needs=Role.VIEWER):
    """``(access, version)`` for version ``number`` of ``name``, or fail."""
    access = prompt_for_user(user, project, name, needs=needs)
    version = access.prompt.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    version.prompt = access.prompt
    return access, version


# Timeline -------------------------------------------------------------------

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened to a prompt; ``kind`` says which fields apply.

    ``version`` is the version's number; ``text`` is the commit message,
    review request message, decision body or comment body.
    """

    kind: str
    at: datetime
    actor: str
    record_id: str
    version: int | None = None
    text: str = ""
    decision: str | None = None
    label: str | None = None
    from_version: int | None = None
    to_version: int | None = None


class TimelineKind:
    VERSION = "version"
    REVIEW_REQUEST = "review_request"
    REVIEW = "review"
    COMMENT = "comment"
    LABEL_MOVE = "label_move"


def prompt_timeline(prompt, *, limit=TIMELINE_LIMIT):
    """What happened to ``prompt``, newest first, at most ``limit`` events.

    Versions, review requests, decisions, comments (not deleted ones) and
    label moves (not of ``latest``, which follows every version): one query
    per kind, each reading at most ``limit`` rows.
    """
    events = [
        *_version_events(prompt, limit),
        *_review_request_events(prompt, limit),
        *_review_events(prompt, limit),
        *_comment_events(prompt, limit),
        *_label_move_events(prompt, limit),
    ]
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


def _version_events(prompt, limit):
    rows = PromptVersion.objects.filter(prompt=prompt).order_by("-created_at")
    for row in rows.values(
        "id", "number", "created_at", "created_by_name", "commit_message"
    )[:limit]:
        yield TimelineEvent(
            kind=TimelineKind.VERSION,
            at=row["created_at"],
            actor=row["created_by_name"],
            record_id=str(row["id"]),
            version=row["number"],
            text=row["commit_message"] or "",
        )


def _review_request_events(prompt, limit):
    rows = ReviewRequest.objects.filter(version__prompt=prompt).order_by("-created_at")
    for row in rows.values(
        "id", "created_at", "requested_by__username", "version__number", "message"
    )[:limit]:
        yield TimelineEvent(
            kind=TimelineKind.REVIEW_REQUEST,
            at=row["created_at"],
            actor=row["requested_by__username"] or "",
            record_id=str(row["id"]),
            version=row["version__number"],
            text=row["message"],
        )


def _review_events(prompt, limit):
    rows = Review.objects.filter(version__prompt=prompt).order_by("-created_at")
    for row in rows.values(
        "id", "created_at", "reviewer_name", "version__number", "decision", "body"
    )[:limit]:
        yield TimelineEvent(
            kind=TimelineKind.REVIEW,
            at=row["created_at"],
            actor=row["reviewer_name"],
            record_id=str(row["id"]),
            version=row["version__number"],
            text=row["body"],
            decision=row["decision"],
        )


def _comment_events(prompt, limit):
    rows = Comment.objects.filter(
        version__prompt=prompt, deleted_at__isnull=True
    ).order_by("-created_at")
    for row in rows.values(
        "id", "created_at", "author_name", "version__number", "body"
    )[:limit]:
        yield TimelineEvent(
            kind=TimelineKind.COMMENT,
            at=row["created_at"],
            actor=row["author_name"],
            record_id=str(row["id"]),
            version=row["version__number"],
            text=row["body"],
        )


def _label_move_events(prompt, limit):
    rows = LabelMove.objects.filter(prompt=prompt).exclude(label=LATEST)
    for row in rows.order_by("-moved_at", "-id").values(
        "id", "moved_at", "moved_by_name", "label", "from_version", "to_version"
    )[:limit]:
        yield TimelineEvent(
            kind=TimelineKind.LABEL_MOVE,
            at=row["moved_at"],
            actor=row["moved_by_name"],
            record_id=str(row["id"]),
            label=row["label"],
            from_version=row["from_version"],
            to_version=row["to_version"],
        )
