"""Reads about projects and memberships, including the project access check."""

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from guardian.models import UserObjectPermission

from .models import ApiKey, Membership, Project, Role, stronger_role


def projects_for_user(user):
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def membership_for(user, project):
    """The user's membership of ``project``, or None.

    Remembered on the user object, which lives for one request, so the
    several access checks a page makes cost one query between them.
    """
    if not user.is_authenticated:
        return None
    remembered = user.__dict__.setdefault("_memberships", {})
    project_id = getattr(project, "pk", project)
    if project_id not in remembered:
        remembered[project_id] = Membership.objects.filter(
            user=user, project_id=project_id
        ).first()
    return remembered[project_id]


def project_for_user(user, slug, *, role=Role.VIEWER):
    """Return ``(project, membership)`` for a member with at least ``role``.

    Non-members get a 404 whether or not the project exists, so a project's
    slug reveals nothing to outsiders. Members below ``role`` get a 403.
    """
    from django.core.exceptions import PermissionDenied

    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404("No such project.")
    membership = membership_for(user, project)
    if membership is None and not user.is_superuser:
        raise Http404("No such project.")
    if membership is not None and not membership.has_role(role):
        raise PermissionDenied(f"This needs the {role} role in {project.name}.")
    return project, membership


# Project administration ----------------------------------------------------


def project_memberships(project):
    """The project's memberships with their users, by user name."""
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("user__username")
    )


def membership_of(project, username):
    """The membership of ``username`` in ``project``, or Http404."""
    membership = (
        Membership.objects.filter(project=project, user__username=username)
        .select_related("user", "project")
        .first()
    )
    if membership is None:
        raise Http404(f"{username} is not a member of {project.name}.")
    return membership


def project_api_keys(project):
    """The project's API keys, newest first, with who created them."""
    return ApiKey.objects.filter(project=project).select_related("created_by")


def api_key_of(project, public_key):
    """The project's key with ``public_key``, or Http404."""
    api_key = ApiKey.objects.filter(project=project, public_key=public_key).first()
    if api_key is None:
        raise Http404("No such API key in this project.")
    return api_key


@dataclass(frozen=True)
class PromptGrant:
    """A role granted to one user on one prompt (a guardian permission)."""

    user: object
    prompt: object
    role: str


def prompt_grants(project):
    """Every grant on one of the project's prompts, by prompt then user.

    Three queries whatever the number of grants: the project's prompts, the
    guardian rows on them, and their users.
    """
    # prompts.selectors imports this module, so its names load at call time.
    from prompts.models import Prompt
    from prompts.selectors import PERMISSION_ROLES

    prompts = {
        str(prompt.pk): prompt for prompt in Prompt.objects.filter(project=project)
    }
    rows = (
        UserObjectPermission.objects.filter(
            content_type=ContentType.objects.get_for_model(Prompt),
            object_pk__in=list(prompts),
            permission__codename__in=list(PERMISSION_ROLES),
        )
        .select_related("user", "permission")
        .order_by("user__username")
    )
    strongest = {}
    for row in rows:
        key = (row.object_pk, row.user_id)
        role = stronger_role(
            strongest.get(key, (None, None))[1],
            PERMISSION_ROLES[row.permission.codename],
        )
        strongest[key] = (row.user, role)
    grants = [
        PromptGrant(user=user, prompt=prompts[object_pk], role=role)
        for (object_pk, _), (user, role) in strongest.items()
    ]
    return sorted(grants, key=lambda g: (g.prompt.name, g.user.get_username()))


def folder_grants(project):
    """The project's folder grants, by prefix then user."""
    from prompts.models import FolderGrant

    return (
        FolderGrant.objects.filter(project=project)
        .select_related("user", "granted_by")
        .order_by("prefix", "user__username")
    )
