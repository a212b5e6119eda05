"""The budgets page: every budget's month so far; admins add, edit, delete.

Viewers read the page; the actions are POST-only and need the admin role.
A refused form shows the page again, status 400, with the reason next to
the form it came from.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from workbench.models import Role
from workbench.views import open_project

from . import budgets
from .models import Budget, BudgetScope

NEW_BUDGET_FORM = {
    "scope": BudgetScope.PROJECT,
    "value": "",
    "amount": "",
    "thresholds": "50, 80, 100",
}


def saved_form(budget):
    """A budget's edit form as it is saved."""
    return {
        "scope": budget.scope,
        "value": budget.scope_value,
        "amount": budget.monthly_amount,
        "thresholds": ", ".join(str(t) for t in budget.thresholds),
    }


def may_manage_budgets(request):
    membership = request.membership
    if membership is None:
        return request.user.is_superuser
    return membership.has_role(Role.ADMIN)


def posted_form(request):
    return {
        name: request.POST.get(name, "").strip()
        for name in ("scope", "value", "amount", "thresholds")
    }


def _page(request, project, *, form=None, error=None, editing=None, status=200):
    """The list; ``editing`` is the budget id whose edit form holds ``form``."""
    reports = budgets.budget_reports(project)
    for report in reports:
        report.form = saved_form(report.budget)
    context = {
        "reports": reports,
        "can_manage": may_manage_budgets(request),
        "scopes": BudgetScope.choices,
        "new_form": NEW_BUDGET_FORM if editing else (form or NEW_BUDGET_FORM),
        "edit_form": form if editing else None,
        "editing": editing,
        "error": error,
        "section": "reports",
        "report_tab": "budgets",
    }
    return render(request, "tracing/reports/budgets.html", context, status=status)


@login_required
def budget_list(request, project_slug):
    project = open_project(request, project_slug)
    return _page(request, project)


@login_required
@require_POST
def budget_add(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    form = posted_form(request)
    try:
        budget = budgets.budget_create(project=project, actor=request.user, **form)
    except budgets.BudgetInputError as error:
        return _page(request, project, form=form, error=error, status=400)
    messages.success(request, f"{budgets.budget_title(budget)} was added.")
    return redirect("budget-list", project.slug)


@login_required
@require_POST
def budget_edit(request, project_slug, budget_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    budget = get_object_or_404(Budget, pk=budget_id, project=project)
    form = posted_form(request)
    try:
        budgets.budget_update(budget=budget, actor=request.user, **form)
    except budgets.BudgetInputError as error:
        return _page(
            request, project, form=form, error=error, editing=budget.pk, status=400
        )
    messages.success(request, f"{budgets.budget_title(budget)} was saved.")
    return redirect("budget-list", project.slug)


@login_required
@require_POST
def budget_delete(request, project_slug, budget_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    budget = get_object_or_404(Budget, pk=budget_id, project=project)
    title = budgets.budget_title(budget)
    budgets.budget_delete(budget=budget, actor=request.user)
    messages.success(request, f"{title} was deleted, with its alert history.")
    return redirect("budget-list", project.slug)
