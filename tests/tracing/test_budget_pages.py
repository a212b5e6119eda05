"""The budgets page: what each role sees, and the admin's add, edit, delete."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse

from tracing import budgets
from tracing.models import Budget, BudgetAlert, BudgetScope, Granularity, UsageBucket
from workbench.models import Role

pytestmark = pytest.mark.django_db

NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
# 360 of November's 720 hours have passed: the forecast doubles the spend.
NOW = NOVEMBER + timedelta(days=15)
BELOW_ADMIN = [Role.VIEWER, Role.REVIEWER, Role.EDITOR, Role.APPROVER]
GOOD = {"scope": "feature", "value": "search", "amount": "25.50", "thresholds": "80,50"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(budgets, "timezone", SimpleNamespace(now=lambda: NOW))


@pytest.fixture
def budget(project):
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.DAY,
        bucket_start=NOVEMBER,
        calls=3,
        unpriced_calls=1,
        cost=Decimal("6.000000000004"),
    )
    budget = Budget.objects.create(
        project=project, monthly_amount=Decimal("10.00"), thresholds=[50, 80, 100]
    )
    BudgetAlert.objects.create(
        budget=budget, month=date(2026, 11, 1), threshold=50, spend=6, forecast=12
    )
    # Last month's alert is not this month's.
    BudgetAlert.objects.create(
        budget=budget, month=date(2026, 10, 1), threshold=80, spend=8, forecast=9
    )
    return budget


@pytest.fixture
def visit(client, members, outsider, other_member):
    people = {"outsider": outsider, "other_admin": other_member, **members}

    def _visit(who):
        client.force_login(people[who])
        return client

    return _visit


def list_url(project):
    return reverse("budget-list", args=[project.slug])


def add_url(project):
    return reverse("budget-add", args=[project.slug])


def edit_url(budget):
    return reverse("budget-edit", args=[budget.project.slug, budget.pk])


def delete_url(budget):
    return reverse("budget-delete", args=[budget.project.slug, budget.pk])


def test_a_viewer_sees_each_budgets_month_so_far(visit, project, budget):
    response = visit(Role.VIEWER).get(list_url(project))

    page = response.content.decode()
    assert response.status_code == 200
    row = page[page.index(f'id="budget-{budget.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Whole project" in row
    assert "$10.00" in row
    assert "$6.000000" in row and "(60.0%)" in row
    assert 'style="width: 60.0%"' in row
    assert "$12.000000" in row and "(120.0%)" in row
    assert "Forecast over" in row
    assert "1 unpriced call not counted" in row
    assert row.count('class="badge"') == 4  # 50, 80, 100; alerted: 50
    assert "spend so far divided by the part of the month elapsed" in page
    assert "Add a budget" not in page
    assert "Edit…" not in page


def test_an_admin_gets_the_forms(visit, project, budget):
    page = visit(Role.ADMIN).get(list_url(project)).content.decode()

    assert "Add a budget" in page
    assert f'action="{edit_url(budget)}"' in page
    assert f'action="{delete_url(budget)}"' in page
    assert 'value="50, 80, 100"' in page


def test_a_project_without_budgets_says_so(visit, project):
    page = visit(Role.VIEWER).get(list_url(project)).content.decode()

    assert "No budgets yet. A project admin can add one." in page


def test_an_admin_adds_a_budget(visit, project, members):
    response = visit(Role.ADMIN).post(add_url(project), GOOD)

    assert response.status_code == 302
    assert response["Location"] == list_url(project)
    budget = Budget.objects.get()
    assert (budget.scope, budget.scope_value) == (BudgetScope.FEATURE, "search")
    assert budget.monthly_amount == Decimal("25.50")
    assert budget.thresholds == [50, 80]
    assert budget.created_by == members[Role.ADMIN]
    page = visit(Role.ADMIN).get(list_url(project)).content.decode()
    assert "The budget of feature search was added." in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "12.345"}, "Not saved: amount may have at most 2 decimal places."),
        ({"amount": "0"}, "Not saved: amount must be more than 0."),
        (
            {"value": "se\x07arch"},
            "Not saved: value must not contain control characters (found U+0007).",
        ),
        (
            {"thresholds": ","},
            "Not saved: thresholds are required: enter at least one percentage, "
            "like 80.",
        ),
        ({"value": ""}, "Not saved: value is required: the feature name"),
        (
            {"scope": "project"},
            "Not saved: value must be empty for a project budget.",
        ),
        (
            {"thresholds": "50, 2000"},
            "Not saved: thresholds 2000 is outside 1 to 1000 percent.",
        ),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_kept(visit, project, change, message):
    form = {**GOOD, **change}

    response = visit(Role.ADMIN).post(add_url(project), form)

    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert 'aria-invalid="true"' in page
    assert f'value="{form["thresholds"]}"' in page
    assert not Budget.objects.exists()


@pytest.mark.parametrize("role", BELOW_ADMIN)
def test_only_admins_add_edit_or_delete(visit, project, budget, role):
    client = visit(role)

    answers = [
        client.post(add_url(project), GOOD).status_code,
        client.post(edit_url(budget), {**GOOD, "scope": "project", "value": ""}),
        client.post(delete_url(budget)).status_code,
    ]

    assert answers[0] == 403
    assert answers[1].status_code == 403
    assert answers[2] == 403
    assert Budget.objects.count() == 1
    budget.refresh_from_db()
    assert budget.monthly_amount == Decimal("10.00")


@pytest.mark.parametrize("who", ["outsider", "other_admin"])
def test_people_outside_the_project_get_404_everywhere(visit, project, budget, who):
    client = visit(who)

    answers = {
        client.get(list_url(project)).status_code,
        client.post(add_url(project), GOOD).status_code,
        client.post(edit_url(budget), GOOD).status_code,
        client.post(delete_url(budget)).status_code,
    }

    assert answers == {404}
    assert Budget.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, project, budget):
    response = client.get(list_url(project))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_admin_edits_a_budget(visit, project, budget):
    form = {"scope": "project", "value": "", "amount": "12", "thresholds": "90"}

    response = visit(Role.ADMIN).post(edit_url(budget), form)

    assert response.status_code == 302
    budget.refresh_from_db()
    assert (budget.monthly_amount, budget.thresholds) == (Decimal("12.00"), [90])


def test_a_bad_edit_shows_the_reason_in_that_budgets_form(visit, project, budget):
    form = {"scope": "project", "value": "", "amount": "-1", "thresholds": "90"}

    response = visit(Role.ADMIN).post(edit_url(budget), form)

    page = response.content.decode()
    assert response.status_code == 400
    row = page[page.index(f'id="budget-{budget.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<details class="confirm" open>' in row
    assert "Not saved: amount must be more than 0." in row
    assert 'value="-1"' in row
    budget.refresh_from_db()
    assert budget.monthly_amount == Decimal("10.00")


def test_an_admin_deletes_a_budget_with_its_alerts(visit, project, budget):
    response = visit(Role.ADMIN).post(delete_url(budget))

    assert response.status_code == 302
    assert not Budget.objects.exists()
    assert not BudgetAlert.objects.exists()


def test_another_projects_budget_is_not_found_from_this_project(
    visit, project, other_project
):
    foreign = Budget.objects.create(project=other_project, monthly_amount=5)
    client = visit(Role.ADMIN)
    wrong = reverse("budget-edit", args=[project.slug, foreign.pk])
    wrong_delete = reverse("budget-delete", args=[project.slug, foreign.pk])

    edited = client.post(wrong, {**GOOD, "scope": "project", "value": ""})
    deleted = client.post(wrong_delete)
    page = client.get(list_url(project)).content.decode()

    assert edited.status_code == deleted.status_code == 404
    assert Budget.objects.filter(pk=foreign.pk, monthly_amount=5).exists()
    assert "$5.00" not in page


def test_actions_answer_post_only(visit, project, budget):
    client = visit(Role.ADMIN)

    assert client.get(add_url(project)).status_code == 405
    assert client.get(edit_url(budget)).status_code == 405
    assert client.get(delete_url(budget)).status_code == 405
