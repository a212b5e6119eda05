"""Monthly budgets: spend so far, the month's forecast, and threshold alerts.

Spend is read from the usage roll-ups (``tracing.usage.window_buckets``)
for the current calendar month in UTC, so it lags the newest calls by at
most one roll-up (a minute). Calls without a price add nothing to it.

The forecast is linear over the month: spend so far divided by the
fraction of the month elapsed. The elapsed part runs to the end of the
current hour, because the hourly bucket of that hour is already counted in
the spend; at the first instant of a month nothing has elapsed, nothing has
been spent and the forecast is 0.

A budget is "over" once spend reaches its amount, "forecast over" while
the forecast exceeds it, and "ok" otherwise.

Alerts: each threshold (a percentage of the amount) that month-to-date
spend has reached is announced once per month: the ``BudgetAlert`` row's
unique constraint decides which of two concurrent checks sends it. The
announcement is an email to the project's approvers and admins and a
``budget.threshold_crossed`` webhook event.
"""

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Sum, TextChoices
from django.urls import reverse
from django.utils import timezone

from workbench import webhooks
from workbench.models import Membership, Role, Webhook

from .models import Budget, BudgetAlert, BudgetScope
from .usage import window_buckets

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# Spend is summed at the buckets' precision (12 places); it is shown and
# sent with 6 (a millionth of a dollar), like the cost pages.
STORED_PLACES = Decimal("1e-12")
SHOWN_PLACES = Decimal("1e-6")
AMOUNT_PLACES = Decimal("0.01")
AMOUNT_LIMIT = Decimal("1000000000000")  # the column holds 12 digits before the point
THRESHOLD_MIN, THRESHOLD_MAX = 1, 1000
SCOPE_VALUE_MAX_LENGTH = Budget._meta.get_field("scope_value").max_length
ALERT_EVENT = "budget.threshold_crossed"


class BudgetInputError(Exception):
    """Bad input for a budget; ``field`` names what is wrong and why."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BudgetState(TextChoices):
    OK = "ok", "On track"
    FORECAST_OVER = "forecast_over", "Forecast over"
    OVER = "over", "Over budget"


# The month ------------------------------------------------------------------


def month_start(moment):
    """Midnight UTC on the first day of ``moment``'s month."""
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(start):
    return (start + timedelta(days=32)).replace(day=1)


def elapsed_until(now):
    """Where the spend window ends: ``now`` rounded up to the hour."""
    floor = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == now else floor + HOUR


def hours_between(start, end):
    return int((end - start) / HOUR)


def month_forecast(spend, *, now):
    """The month's spend if it goes on at the rate so far (see the module doc)."""
    start = month_start(now)
    month_hours = hours_between(start, next_month_start(start))
    elapsed_hours = hours_between(start, elapsed_until(now))
    if elapsed_hours == 0:
        return Decimal(0)
    forecast = spend * month_hours / elapsed_hours
    return forecast.quantize(STORED_PLACES, rounding=ROUND_HALF_UP)


# Spend and status -------------------------------------------------------------


def scoped_buckets(budget, start, end):
    """The usage buckets of [start, end) that count against ``budget``."""
    buckets = window_buckets(budget.project, start, end)
    if budget.scope == BudgetScope.FEATURE:
        return buckets.filter(feature=budget.scope_value)
    if budget.scope == BudgetScope.USER:
        return buckets.filter(user_id=budget.scope_value)
    return buckets


def month_spend(budget, *, now):
    """``(spend, unpriced_calls)`` of ``budget`` from the month's start to ``now``."""
    start = month_start(now)
    end = elapsed_until(now)
    if end <= start:
        return Decimal(0), 0
    totals = scoped_buckets(budget, start, end).aggregate(
        cost=Sum("cost"), unpriced=Sum("unpriced_calls")
    )
    return totals["cost"] or Decimal(0), totals["unpriced"] or 0


def percent_of(part, whole):
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def budget_state(amount, spend, forecast):
    if spend >= amount:
        return BudgetState.OVER
    if forecast > amount:
        return BudgetState.FORECAST_OVER
    return BudgetState.OK


@dataclass
class BudgetReport:
    """One budget in the current month: what it has spent and where it heads."""

    budget: Budget
    month: date
    spend: Decimal
    forecast: Decimal
    unpriced_calls: int
    alerted: list = field(default_factory=list)

    @property
    def amount(self):
        return self.budget.monthly_amount

    @property
    def percent(self):
        return percent_of(self.spend, self.amount)

    @property
    def forecast_percent(self):
        return percent_of(self.forecast, self.amount)

    @property
    def bar_percent(self):
        """The spend bar's width: the percentage, at most a full bar."""
        return min(self.percent, Decimal(100))

    @property
    def state(self):
        return budget_state(self.amount, self.spend, self.forecast)

    def crossed_thresholds(self):
        """The budget's thresholds that month-to-date spend has reached."""
        return [
            threshold
            for threshold in self.budget.thresholds
            if self.spend * 100 >= self.amount * threshold
        ]


def budget_report(budget, *, now=None, alerted=None):
    """``budget``'s month so far; ``alerted`` (the thresholds announced this
    month) is read from the alerts unless given."""
    now = now or timezone.now()
    month = month_start(now).date()
    if alerted is None:
        alerted = sorted(
            budget.alerts.filter(month=month).values_list("threshold", flat=True)
        )
    spend, unpriced = month_spend(budget, now=now)
    return BudgetReport(
        budget=budget,
        month=month,
        spend=spend,
        forecast=month_forecast(spend, now=now),
        unpriced_calls=unpriced,
        alerted=alerted,
    )


def budget_reports(project, *, now=None):
    """Every budget of ``project`` with its month so far, in the model's order."""
    now = now or timezone.now()
    month = month_start(now).date()
    alerted = {}
    for budget_id, threshold in BudgetAlert.objects.filter(
        budget__project=project, month=month
    ).values_list("budget_id", "threshold"):
        alerted.setdefault(budget_id, []).append(threshold)
    return [
        budget_report(budget, now=now, alerted=sorted(alerted.get(budget.pk, [])))
        for budget in Budget.objects.filter(project=project).select_related("project")
    ]


# Input ------------------------------------------------------------------------


def clean_scope(scope):
    if scope not in BudgetScope.values:
        raise BudgetInputError(
            "scope", f"must be one of {', '.join(BudgetScope.values)} (got {scope!r})"
        )
    return BudgetScope(scope)


def clean_value(scope, value):
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BudgetInputError("value", "must be text")
    value = value.strip()
    if scope == BudgetScope.PROJECT:
        if value:
            raise BudgetInputError("value", "must be empty for a project budget")
        return ""
    if not value:
        noun = "feature name" if scope == BudgetScope.FEATURE else "end-user id"
        raise BudgetInputError("value", f"is required: the {noun} the budget covers")
    if len(value) > SCOPE_VALUE_MAX_LENGTH:
        raise BudgetInputError(
            "value", f"must be at most {SCOPE_VALUE_MAX_LENGTH} characters"
        )
    control = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        # NUL cannot be stored in PostgreSQL text, and the others would not
        # match any feature or user id the traces carry.
        raise BudgetInputError(
            "value", f"must not contain control characters (found U+{ord(control):04X})"
        )
    return value


def clean_amount(amount):
    """US dollars above 0 with at most 2 decimal places, from text or a number."""
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        raise BudgetInputError("amount", "is required")
    if isinstance(amount, bool) or not isinstance(amount, str | int | float | Decimal):
        raise BudgetInputError("amount", "must be a number of US dollars, like 250")
    try:
        amount = Decimal(str(amount).strip())
    except InvalidOperation:
        raise BudgetInputError(
            "amount", "must be a number of US dollars, like 250 or 99.50"
        ) from None
    if not amount.is_finite():
        raise BudgetInputError("amount", "must be a finite number")
    if amount <= 0:
        raise BudgetInputError("amount", "must be more than 0")
    if amount >= AMOUNT_LIMIT:
        raise BudgetInputError("amount", f"must be less than {AMOUNT_LIMIT:,}")
    if amount != amount.quantize(AMOUNT_PLACES):
        raise BudgetInputError("amount", "may have at most 2 decimal places")
    return amount.quantize(AMOUNT_PLACES)


def _threshold(item):
    if isinstance(item, str) and item.isdigit():
        return int(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    raise BudgetInputError(
        "thresholds", f"{item!r} is not a whole number of percent, like 80"
    )


def clean_thresholds(thresholds):
    """Percentages 1..1000, deduplicated and sorted, from a list or from text
    such as ``"50, 80, 100"`` (empty parts between commas are ignored)."""
    if isinstance(thresholds, str):
        items = [part.strip() for part in thresholds.split(",") if part.strip()]
    elif isinstance(thresholds, list | tuple):
        items = list(thresholds)
    else:
        raise BudgetInputError(
            "thresholds", "must be a list of percentages, like [50, 80, 100]"
        )
    percents = sorted({_threshold(item) for item in items})
    if not percents:
        raise BudgetInputError(
            "thresholds", "are required: enter at least one percentage, like 80"
        )
    outside = [p for p in percents if not THRESHOLD_MIN <= p <= THRESHOLD_MAX]
    if outside:
        raise BudgetInputError(
            "thresholds",
            f"{outside[0]} is outside {THRESHOLD_MIN} to {THRESHOLD_MAX} percent",
        )
    return percents


def clean_budget(*, scope, value, amount, thresholds):
    """Every field checked, in form order, before anything is written."""
    scope = clean_scope(scope)
    return {
        "scope": scope,
        "scope_value": clean_value(scope, value),
        "monthly_amount": clean_amount(amount),
        "thresholds": clean_thresholds(thresholds),
    }


def _duplicate(scope, value):
    if scope == BudgetScope.PROJECT:
        return BudgetInputError(
            "scope", "'project' is taken: this project already has a project budget"
        )
    noun = "feature" if scope == BudgetScope.FEATURE else "user"
    return BudgetInputError(
        "value", f"{value!r} is taken: that {noun} already has a budget"
    )


# Writes -----------------------------------------------------------------------


def budget_create(*, project, actor, scope, value, amount, thresholds):
    fields = clean_budget(
        scope=scope, value=value, amount=amount, thresholds=thresholds
    )
    try:
        with transaction.atomic():
            budget = Budget.objects.create(project=project, created_by=actor, **fields)
    except IntegrityError:
        raise _duplicate(fields["scope"], fields["scope_value"]) from None
    logger.info("Budget %s (%s) added in %s by %s", budget.pk, budget, project, actor)
    return budget


def budget_update(*, budget, actor, **changes):
    """Change any of ``scope``, ``value``, ``amount``, ``thresholds``.

    Alerts already sent this month stay sent; a threshold the new settings
    put below the spend is announced by the next check.
    """
    current = {
        "scope": budget.scope,
        "value": budget.scope_value,
        "amount": budget.monthly_amount,
        "thresholds": budget.thresholds,
    }
    fields = clean_budget(**{**current, **changes})
    for name, value in fields.items():
        setattr(budget, name, value)
    try:
        with transaction.atomic():
            budget.save()
    except IntegrityError:
        raise _duplicate(fields["scope"], fields["scope_value"]) from None
    logger.info("Budget %s changed to %s by %s", budget.pk, budget, actor)
    return budget


def budget_delete(*, budget, actor):
    logger.info("Budget %s (%s) deleted by %s", budget.pk, budget, actor)
    budget.delete()


# Alerts -----------------------------------------------------------------------


def money(value):
    """A dollar amount as the webhook and API send it: text, 6 decimals."""
    return str(value.quantize(SHOWN_PLACES, rounding=ROUND_HALF_UP))


def threshold_crossed_payload(alert):
    """The ``budget.threshold_crossed`` event for a BudgetAlert."""
    budget = alert.budget
    return webhooks.event_payload(
        ALERT_EVENT,
        key=alert.pk,
        occurred_at=alert.sent_at,
        project=budget.project,
        budget_id=budget.pk,
        scope=budget.scope,
        value=budget.scope_value,
        amount=str(budget.monthly_amount),
        threshold=alert.threshold,
        spend=money(alert.spend),
        forecast=money(alert.forecast),
        month=f"{alert.month:%Y-%m}",
    )


def _alert_record(report, threshold):
    """Record and announce one crossed threshold, unless it already was.

    The insert either wins the unique constraint or fails; only the winner
    queues the webhook deliveries and the email, both on commit.
    """
    budget = report.budget
    try:
        with transaction.atomic():
            alert = BudgetAlert.objects.create(
                budget=budget,
                month=report.month,
                threshold=threshold,
                spend=report.spend,
                forecast=report.forecast,
            )
            webhooks.webhook_deliveries_create(
                budget.project_id,
                Webhook.Event.BUDGET_THRESHOLD_CROSSED,
                threshold_crossed_payload(alert),
            )
            _queue_email(alert.pk)
    except IntegrityError:
        return None
    logger.info(
        "Budget %s of %s crossed %d%% in %s: spend %s of %s",
        budget.pk,
        budget.project.slug,
        threshold,
        f"{report.month:%Y-%m}",
        money(report.spend),
        budget.monthly_amount,
    )
    return alert


def _queue_email(alert_id):
    from . import tasks

    transaction.on_commit(lambda: tasks.send_budget_alert_email.delay(alert_id))


def budget_alerts_check(*, project=None, now=None):
    """Announce every threshold crossed this month and not yet announced.

    Safe to run often and from several workers at once. Returns the alerts
    this run created.
    """
    now = now or timezone.now()
    budgets = Budget.objects.select_related("project")
    if project is not None:
        budgets = budgets.filter(project=project)
    created = []
    for budget in budgets:
        report = budget_report(budget, now=now)
        for threshold in report.crossed_thresholds():
            # Skipping known ones saves a failed insert; the constraint
            # still decides between checks running at the same moment.
            if threshold in report.alerted:
                continue
            alert = _alert_record(report, threshold)
            if alert is not None:
                created.append(alert)
    return created


def alert_recipients(project):
    """The project's approvers and admins who have an email address."""
    memberships = Membership.objects.filter(
        project=project, role__in=[Role.APPROVER, Role.ADMIN]
    ).select_related("user")
    return sorted({m.user.email for m in memberships if m.user.email})


def budget_page_url(project):
    path = reverse("budget-list", args=[project.slug])
    return settings.SITE_URL.rstrip("/") + path


def alert_email_send(alert_id):
    """Email one alert to the project's approvers and admins; 0 if none."""
    alert = (
        BudgetAlert.objects.select_related("budget__project")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        return 0
    budget = alert.budget
    project = budget.project
    recipients = alert_recipients(project)
    if not recipients:
        logger.info("Budget alert %s: no approver or admin has an email", alert.pk)
        return 0
    subject = f"{project.name}: {budget_title(budget)} reached {alert.threshold}%"
    body = (
        f"{budget_title(budget)} of {project.name} has spent ${money(alert.spend)} "
        f"of its ${budget.monthly_amount} for {alert.month:%B %Y} "
        f"({percent_of(alert.spend, budget.monthly_amount)}%), crossing the "
        f"{alert.threshold}% threshold.\n"
        f"At this month's rate it will spend ${money(alert.forecast)} by the end "
        f"of the month.\n\n{budget_page_url(project)}\n"
    )
    send_mail(subject, body, None, recipients)
    logger.info("Sent %r to %d recipient(s)", subject, len(recipients))
    return len(recipients)


def budget_title(budget):
    if budget.scope == BudgetScope.PROJECT:
        return "The project budget"
    noun = "feature" if budget.scope == BudgetScope.FEATURE else "user"
    return f"The budget of {noun} {budget.scope_value}"
