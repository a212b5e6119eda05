"""Budgets: month-to-date spend, the forecast, status, and threshold alerts."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail

from tests.workbench.test_webhooks import Receiver, expected_signature, utc_stamp
from tracing import budgets
from tracing.budgets import BudgetState
from tracing.models import Budget, BudgetAlert, BudgetScope, Granularity, UsageBucket
from tracing.tasks import check_budgets
from workbench import webhooks
from workbench.models import Role, WebhookDelivery

pytestmark = pytest.mark.django_db

NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)  # 30 days: 720 hours
DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)  # 31 days: 744 hours
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EVENT = "budget.threshold_crossed"


def bucket(project, start, cost, *, granularity=Granularity.HOUR, **dimensions):
    return UsageBucket.objects.create(
        project=project,
        granularity=granularity,
        bucket_start=start,
        calls=1,
        cost=Decimal(cost),
        **dimensions,
    )


def day_bucket(project, start, cost, **dimensions):
    return bucket(project, start, cost, granularity=Granularity.DAY, **dimensions)


def spent(project, moment, cost, **dimensions):
    """Calls costing ``cost`` in ``moment``'s hour, rolled up as the roll-up
    does: into the hour's bucket and into the day's."""
    bucket(project, moment.replace(minute=0), cost, **dimensions)
    day, _ = UsageBucket.objects.get_or_create(
        project=project,
        granularity=Granularity.DAY,
        bucket_start=moment.replace(hour=0, minute=0),
        **dimensions,
    )
    day.cost += Decimal(cost)
    day.calls += 1
    day.save()


def make_budget(project, amount="10.00", *, scope=BudgetScope.PROJECT, value="", **kw):
    return Budget.objects.create(
        project=project,
        scope=scope,
        scope_value=value,
        monthly_amount=Decimal(amount),
        **kw,
    )


# The month and the forecast -----------------------------------------------------


def test_mid_month_the_forecast_doubles_the_spend_of_the_first_half(project):
    # At 23:10 on the 15th, the window ends at midnight: 15 whole days, read
    # from day buckets only (their hour buckets must not count twice).
    day_bucket(project, NOVEMBER, "10.000000000001")
    day_bucket(project, NOVEMBER + 13 * DAY, "2.000000000000")
    day_bucket(project, NOVEMBER + 14 * DAY, "0.345678901233")
    bucket(project, NOVEMBER + 14 * DAY, "0.300000000000")
    bucket(project, NOVEMBER + 14 * DAY + 23 * HOUR, "0.045678901233")
    day_bucket(project, NOVEMBER - DAY, "50")  # October
    bucket(project, NOVEMBER - HOUR, "50")  # October's last hour
    budget = make_budget(project, "30.00")
    now = NOVEMBER + 14 * DAY + 23 * HOUR + timedelta(minutes=10)

    report = budgets.budget_report(budget, now=now)

    assert report.month == date(2026, 11, 1)
    assert report.spend == Decimal("12.345678901234")
    assert report.forecast == Decimal("24.691357802468")
    assert report.percent == Decimal("41.2")
    assert report.forecast_percent == Decimal("82.3")
    assert report.state == BudgetState.OK


def test_within_a_day_its_hours_come_from_hour_buckets(project):
    day_bucket(project, NOVEMBER + 14 * DAY, "3.5")
    bucket(project, NOVEMBER + 15 * DAY, "0.2")
    bucket(project, NOVEMBER + 15 * DAY + 10 * HOUR, "0.01")
    bucket(project, NOVEMBER + 15 * DAY + 11 * HOUR, "9")  # after now
    day_bucket(project, NOVEMBER + 15 * DAY, "9.21")  # the 16th, not over yet
    now = NOVEMBER + 15 * DAY + 10 * HOUR + timedelta(minutes=20)

    report = budgets.budget_report(make_budget(project), now=now)

    # 15 days and 11 hours (the current one included) of 720 hours.
    assert report.spend == Decimal("3.71")
    assert report.forecast == Decimal("7.200000000000")


def test_on_the_first_day_the_forecast_counts_the_hours_elapsed(project):
    bucket(project, NOVEMBER, "0.01")
    bucket(project, NOVEMBER + 5 * HOUR, "0.02")
    bucket(project, NOVEMBER - HOUR, "7")

    report = budgets.budget_report(
        make_budget(project), now=NOVEMBER + 5 * HOUR + timedelta(minutes=20)
    )

    # Six hours of 720 have elapsed, the current one included.
    assert report.spend == Decimal("0.03")
    assert report.forecast == Decimal("3.600000000000")


def test_a_forecast_that_does_not_divide_evenly_is_rounded_to_12_places(project):
    bucket(project, NOVEMBER + 6 * HOUR, "1")

    report = budgets.budget_report(
        make_budget(project), now=NOVEMBER + 6 * HOUR + timedelta(seconds=1)
    )

    assert report.forecast == Decimal("102.857142857143")  # 1 * 720 / 7


def test_on_the_last_day_the_forecast_is_the_spend(project):
    day_bucket(project, NOVEMBER, "4.5")
    day_bucket(project, NOVEMBER + 28 * DAY, "1.25")
    spent(project, NOVEMBER + 29 * DAY + 23 * HOUR, "0.25")
    bucket(project, DECEMBER, "100")  # next month

    report = budgets.budget_report(
        make_budget(project, "6.00"), now=DECEMBER - timedelta(seconds=1)
    )

    assert report.spend == Decimal("6.00")
    assert report.forecast == Decimal("6.000000000000")
    assert report.state == BudgetState.OVER


def test_at_the_first_instant_of_a_month_nothing_is_spent_or_forecast(project):
    day_bucket(project, DECEMBER - DAY, "9")
    bucket(project, DECEMBER - HOUR, "9")

    report = budgets.budget_report(make_budget(project), now=DECEMBER)

    assert report.month == date(2026, 12, 1)
    assert report.spend == Decimal(0)
    assert report.forecast == Decimal(0)
    assert report.state == BudgetState.OK


def test_a_second_into_a_month_its_first_hour_is_projected_over_744(project):
    bucket(project, DECEMBER - HOUR, "9")
    bucket(project, DECEMBER, "0.001")

    report = budgets.budget_report(
        make_budget(project), now=DECEMBER + timedelta(seconds=1)
    )

    assert report.spend == Decimal("0.001")
    assert report.forecast == Decimal("0.744000000000")


def test_december_ends_in_the_next_year():
    start = budgets.month_start(datetime(2026, 12, 31, 18, 5, tzinfo=UTC))

    assert start == DECEMBER
    assert budgets.next_month_start(start) == datetime(2027, 1, 1, tzinfo=UTC)


def test_feature_and_user_budgets_count_only_their_calls(project):
    now = NOVEMBER + 2 * DAY + 30 * timedelta(minutes=1)
    day_bucket(project, NOVEMBER, "1.5", feature="search", user_id="u1")
    day_bucket(project, NOVEMBER, "2.25", feature="chat", user_id="u1")
    bucket(project, NOVEMBER + 2 * DAY, "0.125", feature="search", user_id="u2")
    search = make_budget(project, scope=BudgetScope.FEATURE, value="search")
    user = make_budget(project, scope=BudgetScope.USER, value="u1")
    whole = make_budget(project)

    spend = {b.pk: budgets.budget_report(b, now=now).spend for b in (search, user)}
    total = budgets.budget_report(whole, now=now).spend

    assert spend == {search.pk: Decimal("1.625"), user.pk: Decimal("3.75")}
    assert total == Decimal("3.875")


def test_unpriced_calls_are_counted_apart(project):
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.HOUR,
        bucket_start=NOVEMBER,
        calls=5,
        unpriced_calls=3,
        cost=Decimal("0.5"),
    )

    report = budgets.budget_report(make_budget(project), now=NOVEMBER + HOUR)

    assert report.spend == Decimal("0.5")
    assert report.unpriced_calls == 3


def test_another_projects_spend_does_not_count(project, other_project):
    bucket(other_project, NOVEMBER, "5")
    bucket(project, NOVEMBER, "1")

    report = budgets.budget_report(make_budget(project), now=NOVEMBER + HOUR)

    assert report.spend == Decimal("1")


@pytest.mark.parametrize(
    ("amount", "state"),
    [
        ("30.00", BudgetState.OK),
        ("24.69", BudgetState.FORECAST_OVER),  # forecast 24.6913...
        ("12.35", BudgetState.FORECAST_OVER),  # spend 12.3456... is just below
        ("12.34", BudgetState.OVER),
    ],
)
def test_the_status_compares_spend_and_forecast_with_the_amount(project, amount, state):
    day_bucket(project, NOVEMBER, "12.345678901234")

    report = budgets.budget_report(
        make_budget(project, amount), now=NOVEMBER + 15 * DAY
    )

    assert report.state == state


def test_spend_equal_to_the_amount_is_over(project):
    spent(project, NOVEMBER, "10")

    report = budgets.budget_report(make_budget(project, "10"), now=DECEMBER - HOUR)

    assert report.state == BudgetState.OVER
    assert report.percent == Decimal("100.0")
    assert report.bar_percent == Decimal("100")


# Input ----------------------------------------------------------------------------


def test_thresholds_from_text_are_deduplicated_and_sorted():
    assert budgets.clean_thresholds("100, 50,80, 50,") == [50, 80, 100]
    assert budgets.clean_thresholds([1000, 1, 1]) == [1, 1000]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"scope": "team"}, "scope", "must be one of project, feature, user"),
        ({"value": "search"}, "value", "must be empty for a project budget"),
        ({"scope": "feature"}, "value", "is required: the feature name"),
        ({"scope": "user", "value": "  "}, "value", "is required: the end-user id"),
        ({"scope": "user", "value": "u" * 256}, "value", "at most 255 characters"),
        ({"amount": ""}, "amount", "is required"),
        ({"amount": "ten"}, "amount", "must be a number of US dollars"),
        ({"amount": "0"}, "amount", "must be more than 0"),
        ({"amount": "-5"}, "amount", "must be more than 0"),
        ({"amount": "9.999"}, "amount", "at most 2 decimal places"),
        ({"amount": "NaN"}, "amount", "must be a finite number"),
        ({"amount": True}, "amount", "must be a number of US dollars"),
        ({"amount": "1e12"}, "amount", "must be less than 1,000,000,000,000"),
        (
            {"thresholds": ""},
            "thresholds",
            "are required: enter at least one percentage, like 80",
        ),
        (
            {"scope": "user", "value": "u\x00"},
            "value",
            "must not contain control characters (found U+0000)",
        ),
        (
            {"scope": "feature", "value": "a\tb"},
            "value",
            "must not contain control characters (found U+0009)",
        ),
        ({"thresholds": "50, eighty"}, "thresholds", "'eighty' is not a whole"),
        ({"thresholds": "50.5"}, "thresholds", "'50.5' is not a whole"),
        ({"thresholds": "0, 50"}, "thresholds", "0 is outside 1 to 1000 percent"),
        ({"thresholds": "1001"}, "thresholds", "1001 is outside 1 to 1000"),
        ({"thresholds": [50, True]}, "thresholds", "True is not a whole"),
        ({"thresholds": {"a": 1}}, "thresholds", "must be a list of percentages"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(project, fields, field, reason):
    good = {"scope": "project", "value": "", "amount": "25", "thresholds": "50"}

    with pytest.raises(budgets.BudgetInputError) as refused:
        budgets.budget_create(project=project, actor=None, **{**good, **fields})

    assert refused.value.field == field
    assert reason in refused.value.reason
    assert not Budget.objects.exists()


def test_amounts_are_kept_to_the_cent(project):
    budget = budgets.budget_create(
        project=project,
        actor=None,
        scope="feature",
        value=" search ",
        amount=12.5,
        thresholds=[80, 50],
    )

    budget.refresh_from_db()
    assert budget.monthly_amount == Decimal("12.50")
    assert budget.scope_value == "search"
    assert budget.thresholds == [50, 80]


def test_a_second_budget_for_the_same_scope_is_refused(project):
    make_budget(project)
    make_budget(project, scope=BudgetScope.USER, value="u1")

    with pytest.raises(budgets.BudgetInputError) as project_twice:
        budgets.budget_create(
            project=project, actor=None, scope="project", value="", amount=1,
            thresholds=[50],
        )  # fmt: skip
    with pytest.raises(budgets.BudgetInputError) as user_twice:
        budgets.budget_create(
            project=project, actor=None, scope="user", value="u1", amount=1,
            thresholds=[50],
        )  # fmt: skip

    assert (project_twice.value.field, project_twice.value.reason) == (
        "scope",
        "'project' is taken: this project already has a project budget",
    )
    assert (user_twice.value.field, user_twice.value.reason) == (
        "value",
        "'u1' is taken: that user already has a budget",
    )
    assert Budget.objects.count() == 2


def test_an_update_changes_only_the_fields_given(project):
    budget = make_budget(project, thresholds=[50, 80])

    budgets.budget_update(budget=budget, actor=None, amount="99.90")

    budget.refresh_from_db()
    assert budget.monthly_amount == Decimal("99.90")
    assert budget.thresholds == [50, 80]
    assert budget.scope == BudgetScope.PROJECT


def test_an_update_to_a_taken_scope_is_refused_and_changes_nothing(project):
    make_budget(project, scope=BudgetScope.FEATURE, value="chat")
    budget = make_budget(project, scope=BudgetScope.FEATURE, value="search")

    with pytest.raises(budgets.BudgetInputError) as refused:
        budgets.budget_update(budget=budget, actor=None, value="chat", amount="3")

    assert refused.value.field == "value"
    budget.refresh_from_db()
    assert (budget.scope_value, budget.monthly_amount) == ("search", Decimal("10"))


# Alerts -----------------------------------------------------------------------------


@pytest.fixture
def people(members):
    """Members with addresses; the admin's second account has none."""
    for role, user in members.items():
        user.email = f"{role}@acme.test"
        user.save(update_fields=["email"])
    return members


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def check(now, committed, **kwargs):
    with committed():
        return budgets.budget_alerts_check(now=now, **kwargs)


MID_NOVEMBER = NOVEMBER + 15 * DAY  # 360 of 720 hours elapsed: forecast x2


def test_a_crossed_threshold_is_announced_once_a_month(project, people, committed):
    budget = make_budget(project, "10.00", thresholds=[50, 80, 100])
    spent(project, NOVEMBER + 2 * HOUR, "6.000000000001")

    first = check(MID_NOVEMBER, committed)
    again = check(MID_NOVEMBER + HOUR, committed)

    (alert,) = first
    assert again == []
    assert (alert.budget, alert.month, alert.threshold) == (
        budget,
        date(2026, 11, 1),
        50,
    )
    assert alert.spend == Decimal("6.000000000001")
    assert alert.forecast == Decimal("12.000000000002")
    assert len(mail.outbox) == 1
    assert BudgetAlert.objects.count() == 1


def test_crossing_two_thresholds_at_once_sends_two_alerts(project, people, committed):
    make_budget(project, "10.00", thresholds=[50, 80, 100])
    spent(project, NOVEMBER, "8.5")

    created = check(MID_NOVEMBER, committed)

    assert [alert.threshold for alert in created] == [50, 80]
    assert sorted(m.subject for m in mail.outbox) == [
        "Acme: The project budget reached 50%",
        "Acme: The project budget reached 80%",
    ]


def test_a_new_month_announces_the_thresholds_again(project, people, committed):
    make_budget(project, "10.00", thresholds=[50])
    spent(project, NOVEMBER, "5")
    check(MID_NOVEMBER, committed)
    spent(project, DECEMBER + 3 * HOUR, "5.5")

    december = check(DECEMBER + 3 * HOUR + timedelta(minutes=1), committed)

    assert [(a.month, a.threshold) for a in december] == [(date(2026, 12, 1), 50)]
    assert december[0].spend == Decimal("5.5")
    assert BudgetAlert.objects.count() == 2
    assert len(mail.outbox) == 2


def test_spend_under_every_threshold_announces_nothing(project, people, committed):
    make_budget(project, "10.00", thresholds=[50])
    spent(project, NOVEMBER, "4.99")

    assert check(MID_NOVEMBER, committed) == []
    assert mail.outbox == []


def test_a_check_that_loses_the_race_sends_nothing(
    project, people, committed, monkeypatch
):
    """Two checks read "not yet sent" at once; the constraint lets one send."""
    budget = make_budget(project, "10.00", thresholds=[50])
    spent(project, NOVEMBER, "6")
    BudgetAlert.objects.create(
        budget=budget, month=date(2026, 11, 1), threshold=50, spend=6, forecast=12
    )
    stale = budgets.budget_report

    def read_before_the_other_check_wrote(budget, **kwargs):
        return stale(budget, **{**kwargs, "alerted": []})

    monkeypatch.setattr(budgets, "budget_report", read_before_the_other_check_wrote)

    assert check(MID_NOVEMBER, committed) == []
    assert mail.outbox == []
    assert BudgetAlert.objects.count() == 1


def test_a_raised_amount_is_not_announced_again_a_lowered_one_is(
    project, people, committed
):
    budget = make_budget(project, "10.00", thresholds=[50, 100])
    spent(project, NOVEMBER, "6")
    check(MID_NOVEMBER, committed)

    budgets.budget_update(budget=budget, actor=None, amount="6")
    created = check(MID_NOVEMBER, committed)

    assert [alert.threshold for alert in created] == [100]


def test_the_email_goes_to_approvers_and_admins_with_the_figures(
    project, people, committed, settings
):
    people[Role.APPROVER].email = ""
    people[Role.APPROVER].save(update_fields=["email"])
    make_budget(project, "20.00", scope=BudgetScope.FEATURE, value="search")
    spent(project, NOVEMBER, "16.5", feature="search")
    settings.SITE_URL = "https://workbench.test"

    check(MID_NOVEMBER, committed)

    (message,) = [m for m in mail.outbox if "80%" in m.subject]
    assert message.to == ["admin@acme.test"]
    assert message.subject == "Acme: The budget of feature search reached 80%"
    assert message.body == (
        "The budget of feature search of Acme has spent $16.500000 of its "
        "$20.00 for November 2026 (82.5%), crossing the 80% threshold.\n"
        "At this month's rate it will spend $33.000000 by the end of the month."
        "\n\nhttps://workbench.test/p/acme/reports/budgets/\n"
    )


def test_recipients_are_the_approvers_and_admins_who_have_an_address(project, people):
    people[Role.ADMIN].email = ""
    people[Role.ADMIN].save(update_fields=["email"])

    assert budgets.alert_recipients(project) == ["approver@acme.test"]


def test_the_beat_task_checks_every_project(
    project, other_project, people, committed, monkeypatch, settings
):
    clock = SimpleNamespace(now=lambda: MID_NOVEMBER + timedelta(minutes=5))
    monkeypatch.setattr(budgets, "timezone", clock)
    make_budget(project, "1", thresholds=[100])
    make_budget(other_project, "1", thresholds=[100])
    spent(project, NOVEMBER, "1")
    spent(other_project, NOVEMBER, "2")

    with committed():
        check_budgets.delay()

    assert sorted(
        BudgetAlert.objects.values_list("budget__project__slug", "threshold")
    ) == [("acme", 100), ("globex", 100)]
    schedule = settings.CELERY_BEAT_SCHEDULE["check-budgets"]
    assert schedule == {"task": "tracing.tasks.check_budgets", "schedule": 300.0}


# The webhook event ------------------------------------------------------------


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    server = Receiver()
    yield server
    server.close()


def test_the_webhook_event_reaches_the_receiver_signed(
    project, members, receiver, committed
):
    hook = webhooks.webhook_create(
        project=project,
        url=receiver.url(),
        events=[EVENT],
        actor=members[Role.ADMIN],
    )
    deaf = webhooks.webhook_create(
        project=project,
        url=receiver.url("/labels-only"),
        events=["label.moved"],
        actor=members[Role.ADMIN],
    )
    budget = make_budget(project, "10.00", scope=BudgetScope.USER, value="u-7")
    budget.thresholds = [75]
    budget.save()
    spent(project, NOVEMBER + HOUR, "7.654321", user_id="u-7")

    (alert,) = check(MID_NOVEMBER, committed)

    (request,) = receiver.requests
    body = request["body"]
    assert request["path"] == "/hooks/workbench"
    assert request["headers"]["X-Workbench-Event"] == EVENT
    assert request["headers"]["X-Workbench-Signature"] == expected_signature(
        hook.secret, body
    )
    payload = json.loads(body)
    assert payload == {
        "id": payload["id"],
        "event": EVENT,
        "occurred_at": utc_stamp(alert.sent_at),
        "project": "acme",
        "budget_id": budget.pk,
        "scope": "user",
        "value": "u-7",
        "amount": "10.00",
        "threshold": 75,
        "spend": "7.654321",
        "forecast": "15.308642",
        "month": "2026-11",
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.webhook == hook
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert not deaf.deliveries.exists()


def test_the_event_is_one_of_the_events_a_webhook_may_subscribe_to(project, members):
    hook = webhooks.webhook_create(
        project=project,
        url="https://93.184.215.14/hook",
        events=[EVENT, "label.moved"],
        actor=members[Role.ADMIN],
    )

    assert hook.events == ["label.moved", EVENT]
