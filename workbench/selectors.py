"""Reads about projects and memberships, including the project access check."""

from django.http import Http404

from .models import Membership, Project, Role


def projects_for_user(user):
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def membership_for(user, project):
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, project=project).first()


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
