"""Pages that are about projects rather than prompts or traces."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from workbench.selectors import projects_for_user


@login_required
def home(request):
    projects = list(projects_for_user(request.user))
    if len(projects) == 1:
        return redirect("prompt-list", project_slug=projects[0].slug)
    return render(request, "workbench/home.html", {"projects": projects})
