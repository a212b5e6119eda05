"""The diff page: two versions of one prompt side by side."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workbench.views import open_project

from ..diffing import version_diff
from ..selectors import prompt_for_user


class UnknownVersion(Exception):
    """A ``from`` / ``to`` value that names no version of the prompt."""


def chosen_number(raw, numbers, field):
    """The version number asked for in the query, or None when not given."""
    if raw is None or raw.strip() == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        raise UnknownVersion(
            f"'{raw}' is not a version number ({field} must be a whole number)."
        ) from None
    if number not in numbers:
        raise UnknownVersion(f"There is no version {number} ({field}).")
    return number


def default_from(numbers, to_number):
    """The version just before ``to_number``, or ``to_number`` if it is the first."""
    earlier = [number for number in numbers if number < to_number]
    return earlier[-1] if earlier else to_number


def author_name(version):
    return (
        version.created_by.username if version.created_by else version.created_by_name
    )


@login_required
def prompt_diff(request, project_slug, name):
    """Compare ``?from=<n>&to=<m>``; by default the latest against the one before.

    A version that is not a number or does not exist is a 404 page that
    says which one, not a server error.
    """
    project = open_project(request, project_slug)
    prompt = prompt_for_user(request.user, project, name).prompt
    choices = list(
        prompt.versions.order_by("number").values_list("number", "commit_message")
    )
    numbers = [number for number, _ in choices]
    context = {"prompt": prompt, "choices": choices, "section": "prompts"}
    if not numbers:
        context["error"] = "This prompt has no versions yet."
        return render(request, "prompts/diff.html", context, status=404)
    try:
        to_number = chosen_number(request.GET.get("to"), numbers, "to")
        from_number = chosen_number(request.GET.get("from"), numbers, "from")
    except UnknownVersion as error:
        context["error"] = str(error)
        return render(request, "prompts/diff.html", context, status=404)
    if to_number is None:
        to_number = numbers[-1]
    if from_number is None:
        from_number = default_from(numbers, to_number)

    versions = {
        version.number: version
        for version in prompt.versions.select_related("created_by").filter(
            number__in={from_number, to_number}
        )
    }
    old, new = versions[from_number], versions[to_number]
    for version in (old, new):
        version.author = author_name(version)
    context.update(
        {
            "old": old,
            "new": new,
            "diff": version_diff(old.content, new.content, old.config, new.config),
            "only_version": len(numbers) == 1,
        }
    )
    return render(request, "prompts/diff.html", context)
