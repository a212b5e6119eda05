"""The usage roll-ups page: how current they are, and rebuilding a range.

Admins only, under the project's settings. A rebuild runs as a background
job; the page lists the recent ones with their progress bars.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from workbench.models import Role
from workbench.views import open_project
from workbench.views.settings import settings_tabs

from .models import BackgroundJob, JobKind
from .rollup_jobs import (
    MAX_REBUILD_DAYS,
    RebuildInputError,
    rebuild_range_clean,
    rollup_rebuild_start,
    rollup_state,
)

RECENT_JOBS = 10


def _default_range(state):
    """The form's first suggestion: the days the roll-ups hold, else the last 30."""
    today = timezone.now().date()
    first = state.first_day.date() if state.first_day else today - timedelta(days=29)
    last = state.last_day.date() if state.last_day else today
    return {"since": first.isoformat(), "until": last.isoformat()}


@login_required
def rollup_status(request, project_slug):
    """GET shows the roll-ups' state and recent rebuilds; POST starts a rebuild."""
    project = open_project(request, project_slug, role=Role.ADMIN)
    state = rollup_state(project)
    form, errors, status = _default_range(state), {}, 200
    if request.method == "POST":
        form = {name: request.POST.get(name, "") for name in ("since", "until")}
        try:
            since, until = rebuild_range_clean(form["since"], form["until"])
        except RebuildInputError as error:
            errors, status = {error.field: error.reason}, 400
        else:
            rollup_rebuild_start(
                project=project, since=since, until=until, user=request.user
            )
            messages.success(
                request, f"Rebuilding the roll-ups of {since} to {until}: see below."
            )
            return redirect("rollup-status", project.slug)
    jobs = BackgroundJob.objects.filter(
        project=project, kind=JobKind.REBUILD_ROLLUPS
    ).select_related("created_by")[:RECENT_JOBS]
    context = {
        "section": "settings",
        "tabs": settings_tabs(project, "usage"),
        "state": state,
        "form": form,
        "errors": errors,
        "jobs": jobs,
        "max_days": MAX_REBUILD_DAYS,
    }
    return render(request, "tracing/rollup_status.html", context, status=status)
