"""Prompt pages: list, detail with labels and deployment history, one version."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.selectors import project_for_user

from .models import Prompt


@login_required
def prompt_list(request, project_slug):
    project, _ = project_for_user(request.user, project_slug)
    request.project = project
    prompts = Prompt.objects.filter(project=project).order_by("name")
    return render(request, "prompts/prompt_list.html", {"prompts": prompts})
