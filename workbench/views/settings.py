"""Project administration pages: settings, members, grants and API keys.

Every page and action needs the project's admin role: outsiders get a 404,
members below admin a 403. Actions answer with a redirect and a message, or
re-render their page with the error beside the form and status 400. The
members table also answers htmx requests with just the table, the outcome
written inside it (status 200, since htmx swaps in only successful answers).
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from prompts.errors import PromptInputError
from prompts.models import FolderGrant, Prompt
from prompts.services import grants as grant_services
from tracing.rollup_jobs import rollup_rebuild_start
from workbench import selectors, services
from workbench.models import NamingRule, Role, role_at_least
from workbench.services import SettingsInputError
from workbench.views import open_project

logger = logging.getLogger(__name__)

# Settings pages in tab order: (key, title, URL name).
TABS = [
    ("project", "Project", "project-settings"),
    ("members", "Members", "project-members"),
    ("grants", "Grants", "project-grants"),
    ("api-keys", "API keys", "api-keys"),
    ("webhooks", "Webhooks", "webhook-list"),
    ("usage", "Usage roll-ups", "rollup-status"),
]
GRANT_KINDS = {"prompt": "One prompt", "folder": "Every prompt whose name starts with"}


def settings_tabs(project, current):
    """``[(key, title, url, is_current)]`` for the settings navigation."""
    return [
        (key, title, reverse(url_name, args=[project.slug]), key == current)
        for key, title, url_name in TABS
    ]


def _render(request, project, tab, template, context, status=200):
    context = {
        "section": "settings",
        "tabs": settings_tabs(project, tab),
        "roles": Role.choices,
        **context,
    }
    return render(request, template, context, status=status)


def _refused(error):
    """``{field: reason}`` for the template from a service error."""
    return {error.field: error.reason}


def _is_htmx(request):
    return request.headers.get("HX-Request") == "true"


# Project settings ---------------------------------------------------------


def _settings_form(project):
    return {
        "name": project.name,
        "naming_rule": project.naming_rule,
        "protected_labels": ", ".join(project.protected_labels or []),
        "required_approvals": project.required_approvals,
        "author_approval_counts": project.author_approval_counts,
        "feature_key": project.feature_key,
    }


def _posted_settings(post):
    return {
        "name": post.get("name", ""),
        "naming_rule": post.get("naming_rule", ""),
        "protected_labels": post.get("protected_labels", ""),
        "required_approvals": post.get("required_approvals", ""),
        "author_approval_counts": post.get("author_approval_counts") == "on",
        # Absent (an older form): the key stays as it is.
        "feature_key": post.get("feature_key"),
    }


def split_labels(text):
    """The labels in a comma-separated field, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _rebuild_for_feature_key(request, project):
    """Buckets group calls by the old key: rebuild them all, and show progress."""
    job = rollup_rebuild_start(project=project, user=request.user)
    messages.info(
        request,
        "The feature key changed: the usage roll-ups of every day are being "
        "rebuilt; reports group by the new key once the rebuild is done.",
    )
    logger.info("Feature key of %s changed; rebuild job %s", project.slug, job.pk)
    return redirect("rollup-status", project.slug)


@login_required
def project_settings(request, project_slug):
    """GET shows the project's settings; POST changes them."""
    project = open_project(request, project_slug, role=Role.ADMIN)
    form, errors, status = _settings_form(project), {}, 200
    if request.method == "POST":
        form = _posted_settings(request.POST)
        old_feature_key = project.feature_key
        try:
            services.project_settings_update(
                project=project,
                name=form["name"],
                naming_rule=form["naming_rule"],
                protected_labels=split_labels(form["protected_labels"]),
                required_approvals=form["required_approvals"],
                author_approval_counts=form["author_approval_counts"],
                feature_key=form["feature_key"],
                actor=request.user,
            )
        except SettingsInputError as error:
            errors, status = _refused(error), 400
        else:
            messages.success(request, "Project settings saved.")
            if project.feature_key != old_feature_key:
                return _rebuild_for_feature_key(request, project)
            return redirect("project-settings", project.slug)
    context = {"form": form, "errors": errors, "naming_rules": NamingRule.choices}
    return _render(
        request, project, "project", "workbench/settings/project.html", context, status
    )


# Members ------------------------------------------------------------------


def _members_context(project, **extra):
    memberships = list(selectors.project_memberships(project))
    for membership in memberships:
        membership.invited = not membership.user.has_usable_password()
    return {"memberships": memberships, "errors": {}, "form": {}, **extra}


def _members_page(request, project, *, status=200, **extra):
    context = _members_context(project, **extra)
    if _is_htmx(request):
        # The table swaps in place; htmx ignores 4xx answers, so 200.
        template = "workbench/settings/partials/members_table.html"
        return render(request, template, {**context, "roles": Role.choices})
    return _render(
        request, project, "members", "workbench/settings/members.html", context, status
    )


def _member_done(request, project, notice):
    if _is_htmx(request):
        return _members_page(request, project, notice=notice)
    messages.success(request, notice)
    return redirect("project-members", project.slug)


@login_required
def members(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    return _members_page(request, project)


@login_required
@require_POST
def member_add(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    form = {"identifier": request.POST.get("identifier", "").strip()}
    try:
        membership = services.member_add(
            project=project,
            identifier=form["identifier"],
            role=request.POST.get("role", ""),
            actor=request.user,
        )
    except SettingsInputError as error:
        return _members_page(
            request, project, status=400, form=form, errors={"add": error.reason}
        )
    return _member_done(
        request,
        project,
        f"{membership.user.get_username()} added as {membership.role}.",
    )


@login_required
@require_POST
def member_invite(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    form = {"email": request.POST.get("email", "").strip()}
    try:
        membership = services.member_invite(
            project=project,
            email=form["email"],
            role=request.POST.get("role", ""),
            actor=request.user,
        )
    except services.InvitationNotSent as error:
        # The member was added; only the email is missing, so say so there.
        messages.error(request, error.reason)
        return redirect("project-members", project.slug)
    except SettingsInputError as error:
        return _members_page(
            request, project, status=400, form=form, errors={"invite": error.reason}
        )
    user = membership.user
    return _member_done(
        request,
        project,
        f"Invitation sent to {user.email}; they join as {user.get_username()} "
        f"({membership.role}) once they choose a password.",
    )


@login_required
@require_POST
def member_invite_resend(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    membership = selectors.membership_of(project, request.POST.get("user", ""))
    try:
        services.invitation_send(
            project=project, user=membership.user, actor=request.user
        )
    except SettingsInputError as error:
        return _members_page(
            request, project, status=400, errors={"members": error.reason}
        )
    return _member_done(
        request, project, f"Invitation sent again to {membership.user.email}."
    )


@login_required
@require_POST
def member_role(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    membership = selectors.membership_of(project, request.POST.get("user", ""))
    try:
        services.member_role_set(
            membership=membership, role=request.POST.get("role", ""), actor=request.user
        )
    except SettingsInputError as error:
        return _members_page(
            request, project, status=400, errors={"members": error.reason}
        )
    return _member_done(
        request,
        project,
        f"{membership.user.get_username()} is now {membership.role}.",
    )


@login_required
@require_POST
def member_remove(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    membership = selectors.membership_of(project, request.POST.get("user", ""))
    try:
        services.member_remove(membership=membership, actor=request.user)
    except SettingsInputError as error:
        return _members_page(
            request, project, status=400, errors={"members": error.reason}
        )
    return _member_done(
        request,
        project,
        f"{membership.user.get_username()} removed from {project.name}.",
    )


# Grants -------------------------------------------------------------------


def _grants_page(request, project, *, status=200, form=None, error=None):
    context = {
        "prompt_grants": selectors.prompt_grants(project),
        "folder_grants": selectors.folder_grants(project),
        "memberships": selectors.project_memberships(project),
        "grant_kinds": GRANT_KINDS,
        "form": form or {"kind": "prompt", "role": Role.EDITOR},
        "error": error,
    }
    return _render(
        request, project, "grants", "workbench/settings/grants.html", context, status
    )


@login_required
def grants(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    return _grants_page(request, project)


def _posted_grant(post):
    return {
        "user": post.get("user", ""),
        "kind": post.get("kind", ""),
        "target": post.get("target", "").strip(),
        "role": post.get("role", ""),
    }


def _grant_set(project, form, actor):
    """Make the grant ``form`` describes; returns what it covers, in words."""
    membership = (
        selectors.project_memberships(project)
        .filter(user__username=form["user"])
        .first()
    )
    if membership is None:
        raise SettingsInputError(
            "user", f"{form['user'] or 'nobody'} is not a member of {project.name}"
        )
    if form["kind"] == "prompt":
        prompt = Prompt.objects.filter(project=project, name=form["target"]).first()
        if prompt is None:
            raise SettingsInputError(
                "target", f"no prompt is named '{form['target']}' in {project.name}"
            )
        grant_services.prompt_grant_set(
            prompt=prompt, user=membership.user, role=form["role"], actor=actor
        )
        covered = f"the prompt {prompt.name}"
    elif form["kind"] == "folder":
        grant = grant_services.folder_grant_set(
            project=project,
            user=membership.user,
            prefix=form["target"],
            role=form["role"],
            actor=actor,
        )
        count = Prompt.objects.filter(
            project=project, name__startswith=grant.prefix
        ).count()
        covered = f"prompts starting with {grant.prefix} ({count} now)"
    else:
        raise SettingsInputError("kind", "choose one prompt or a name prefix")
    if role_at_least(membership.role, form["role"]):
        covered += (
            f"; it adds nothing yet, since {membership.user.get_username()} is "
            f"{membership.role} in the whole project"
        )
    return covered


@login_required
@require_POST
def grant_add(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    form = _posted_grant(request.POST)
    try:
        covered = _grant_set(project, form, request.user)
    except (SettingsInputError, PromptInputError) as error:
        return _grants_page(request, project, status=400, form=form, error=error)
    messages.success(request, f"{form['user']} is {form['role']} on {covered}.")
    return redirect("project-grants", project.slug)


@login_required
@require_POST
def grant_remove(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    membership = selectors.membership_of(project, request.POST.get("user", ""))
    target = request.POST.get("target", "")
    if request.POST.get("kind") == "folder":
        grant = get_object_or_404(
            FolderGrant, project=project, user=membership.user, prefix=target
        )
        grant_services.folder_grant_remove(grant=grant, actor=request.user)
    else:
        prompt = get_object_or_404(Prompt, project=project, name=target)
        grant_services.prompt_grant_remove(
            prompt=prompt, user=membership.user, actor=request.user
        )
    messages.success(
        request, f"{membership.user.get_username()}'s grant on {target} removed."
    )
    return redirect("project-grants", project.slug)


# API keys -----------------------------------------------------------------


def _api_keys_page(request, project, *, status=200, **extra):
    context = {
        "api_keys": selectors.project_api_keys(project),
        "api_host": request.build_absolute_uri("/").rstrip("/"),
        "note": "",
        "error": None,
        **extra,
    }
    return _render(
        request,
        project,
        "api-keys",
        "workbench/settings/api_keys.html",
        context,
        status,
    )


@login_required
def api_keys(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    return _api_keys_page(request, project)


@never_cache
@login_required
@require_POST
def api_key_create(request, project_slug):
    """Create a key and show its secret in this answer, the only time."""
    project = open_project(request, project_slug, role=Role.ADMIN)
    note = request.POST.get("note", "")
    try:
        api_key, secret = services.api_key_create(
            project=project, note=note, actor=request.user
        )
    except SettingsInputError as error:
        return _api_keys_page(request, project, status=400, note=note, error=error)
    return _api_keys_page(request, project, new_key=api_key, new_secret=secret)


@login_required
@require_POST
def api_key_revoke(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    api_key = selectors.api_key_of(project, request.POST.get("public_key", ""))
    try:
        services.api_key_revoke(api_key=api_key, actor=request.user)
    except SettingsInputError as error:
        return _api_keys_page(request, project, status=400, error=error)
    messages.success(
        request, f"API key {api_key.public_key} revoked; it stops working now."
    )
    return redirect("api-keys", project.slug)
