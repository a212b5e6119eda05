"""Pages about projects rather than prompts or traces, and the page helpers."""

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.models import Membership, Role
from workbench.selectors import project_for_user, projects_for_user


def open_project(request, project_slug, *, role=Role.VIEWER):
    """The project a page is about, for a member with at least ``role``.

    404 for everyone else, 403 for members below ``role``. It is also put on
    the request so the layout can show the project's navigation.
    """
    project, membership = project_for_user(request.user, project_slug, role=role)
    request.project = project
    request.membership = membership
    return project


def pretty_json(value):
    """Indented JSON for a ``<pre>`` block; None when there is nothing to show."""
    if value is None or value == {} or value == []:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@login_required
def home(request):
    roles = dict(
        Membership.objects.filter(user=request.user).values_list("project_id", "role")
    )
    projects = [
        {"project": project, "role": roles.get(project.id, "superuser")}
        for project in projects_for_user(request.user).order_by("name")
    ]
    return render(request, "workbench/home.html", {"projects": projects})


# The schema views load drf-spectacular's generator (~20 MiB in every web
# worker); they are built on first use instead of at start.


def api_schema(request, *args, **kwargs):
    from drf_spectacular.views import SpectacularAPIView

    return SpectacularAPIView.as_view()(request, *args, **kwargs)


def api_docs(request, *args, **kwargs):
    from drf_spectacular.views import SpectacularSwaggerView

    view = SpectacularSwaggerView.as_view(url_name="api-schema")
    return view(request, *args, **kwargs)
