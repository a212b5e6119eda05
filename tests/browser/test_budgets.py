"""An admin adds a budget in Chromium and sees the month's spend against it."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import make_member
from tracing.models import Budget, Granularity, UsageBucket
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_a_budget_and_sees_the_bar(live_server, page, shot, project):
    make_member(project, Role.ADMIN, username="ada")
    # Spend in the current hour counts whatever the day of the month.
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.HOUR,
        bucket_start=timezone.now().replace(minute=0, second=0, microsecond=0),
        calls=4,
        cost=Decimal("3.25"),
        feature="search",
    )
    page.goto(f"{live_server.url}/login/?next=/p/{project.slug}/reports/budgets/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_selector("text=No budgets yet.")

    form = page.locator("form[action$='/reports/budgets/add/']")
    form.locator("select[name=scope]").select_option("feature")
    form.locator("input[name=value]").fill("search")
    form.locator("input[name=amount]").fill("5.005")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=amount may have at most 2 decimal places")
    shot("budgets-refused")

    form = page.locator("form[action$='/reports/budgets/add/']")
    form.locator("input[name=amount]").fill("5")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=The budget of feature search was added.")
    shot("budgets-list")

    budget = Budget.objects.get()
    assert budget.monthly_amount == Decimal("5.00")
    assert budget.thresholds == [50, 80, 100]
    row = page.locator(f"#budget-{budget.pk}")
    assert "$3.250000" in row.inner_text()
    assert "(65.0%)" in row.inner_text()
    bar = row.locator(".budget-bar span")
    assert bar.get_attribute("style") == "width: 65.0%"
