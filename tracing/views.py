"""Trace pages: the list, one trace as a tree, and the cost overview."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.selectors import project_for_user

from .models import Trace


@login_required
def trace_list(request, project_slug):
    project, _ = project_for_user(request.user, project_slug)
    request.project = project
    traces = Trace.objects.filter(project=project).order_by("-timestamp")[:100]
    return render(request, "tracing/trace_list.html", {"traces": traces})
