"""The native API for monthly budgets (``/api/v1/projects/<slug>/budgets/``).

Viewers read, admins write. Each budget comes with its month so far:
spend, forecast and status, computed as on the budgets page (see
``tracing.budgets``). Money is text with fixed decimals, so no client
rounds it through a float.
"""

from decimal import ROUND_HALF_UP

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from workbench.api.base import NativeApiView, documented, list_of, open_project
from workbench.models import Role

from .. import budgets
from ..models import Budget, BudgetScope

AMOUNT_SCHEMA = {
    "oneOf": [{"type": "string", "example": "250.00"}, {"type": "number"}],
    "description": "US dollars above 0, at most 2 decimal places.",
}
THRESHOLDS_SCHEMA = {
    "type": "array",
    "items": {"type": "integer", "minimum": 1, "maximum": 1000},
    "description": "Percentages of the amount; stored deduplicated and sorted.",
    "example": [50, 80, 100],
}
FIELDS = ("scope", "value", "amount", "thresholds")


# Serializers ------------------------------------------------------------------


@extend_schema_field(AMOUNT_SCHEMA)
class AmountField(serializers.JSONField):
    """Dollars as text or a JSON number; checked by ``budgets.clean_amount``."""


@extend_schema_field(THRESHOLDS_SCHEMA)
class ThresholdsField(serializers.JSONField):
    """A list of percentages; checked by ``budgets.clean_thresholds``."""


class BudgetSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="budget.pk")
    scope = serializers.ChoiceField(BudgetScope.choices, source="budget.scope")
    value = serializers.CharField(
        source="budget.scope_value",
        help_text="The feature or end-user id; empty for a project budget.",
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        source="budget.monthly_amount",
        help_text="The monthly amount in US dollars.",
    )
    thresholds = serializers.ListField(
        child=serializers.IntegerField(), source="budget.thresholds"
    )
    month = serializers.DateField(help_text="The first day of the month (UTC).")
    spend = serializers.DecimalField(
        max_digits=24,
        decimal_places=6,
        rounding=ROUND_HALF_UP,
        help_text="US dollars spent by priced calls this month so far.",
    )
    forecast = serializers.DecimalField(
        max_digits=24,
        decimal_places=6,
        rounding=ROUND_HALF_UP,
        help_text="Spend so far divided by the fraction of the month elapsed.",
    )
    percent = serializers.DecimalField(
        max_digits=12, decimal_places=1, help_text="Spend as a percentage of amount."
    )
    status = serializers.ChoiceField(budgets.BudgetState.choices, source="state")
    unpricedCalls = serializers.IntegerField(
        source="unpriced_calls", help_text="Calls this month with no price."
    )
    alertsThisMonth = serializers.ListField(
        child=serializers.IntegerField(),
        source="alerted",
        help_text="The thresholds already announced this month.",
    )
    createdAt = serializers.DateTimeField(source="budget.created_at")
    updatedAt = serializers.DateTimeField(source="budget.updated_at")


class BudgetInputSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(BudgetScope.choices, default=BudgetScope.PROJECT)
    value = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Required for feature and user budgets; empty for project.",
    )
    amount = AmountField()
    thresholds = ThresholdsField(required=False)


class BudgetChangeSerializer(serializers.Serializer):
    """Any of the fields; those left out keep their value."""

    scope = serializers.ChoiceField(BudgetScope.choices, required=False)
    value = serializers.CharField(required=False, allow_blank=True)
    amount = AmountField(required=False)
    thresholds = ThresholdsField(required=False)


# Views ------------------------------------------------------------------------


def project_budget(project, budget_id):
    budget = (
        Budget.objects.select_related("project")
        .filter(project=project, pk=budget_id)
        .first()
    )
    if budget is None:
        raise Http404("No such budget.")
    return budget


def body_fields(request):
    """The known fields of the JSON body, unparsed: ``budgets`` checks them."""
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError(["The body must be a JSON object."])
    fields = {name: request.data[name] for name in FIELDS if name in request.data}
    # The pages take "50, 80" as text; the API takes the list its schema shows.
    if "thresholds" in fields and not isinstance(fields["thresholds"], list):
        raise exceptions.ValidationError(
            {"thresholds": ["must be a list of percentages, like [50, 80, 100]"]}
        )
    return fields


class BudgetApiView(NativeApiView):
    def handle_exception(self, exc):
        if isinstance(exc, budgets.BudgetInputError):
            exc = exceptions.ValidationError({exc.field: [exc.reason]})
        return super().handle_exception(exc)


class BudgetCollection(BudgetApiView):
    @extend_schema(
        operation_id="budgets_list",
        tags=["budgets"],
        summary="The project's budgets with this month's spend and forecast",
        responses=documented({200: list_of(BudgetSerializer)}, refusals=(401, 404)),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        reports = budgets.budget_reports(project)
        return Response({"data": BudgetSerializer(reports, many=True).data})

    @extend_schema(
        operation_id="budgets_create",
        tags=["budgets"],
        summary="Add a budget (admin)",
        request=BudgetInputSerializer,
        responses=documented({201: BudgetSerializer}),
    )
    def post(self, request, slug):
        project = open_project(request, slug, role=Role.ADMIN)
        fields = body_fields(request)
        budget = budgets.budget_create(
            project=project,
            actor=request.user,
            scope=fields.get("scope", BudgetScope.PROJECT),
            value=fields.get("value", ""),
            amount=fields.get("amount"),
            thresholds=fields.get("thresholds", [50, 80, 100]),
        )
        body = BudgetSerializer(budgets.budget_report(budget)).data
        return Response(body, status=status.HTTP_201_CREATED)


class BudgetItem(BudgetApiView):
    @extend_schema(
        operation_id="budgets_retrieve",
        tags=["budgets"],
        summary="One budget with this month's spend and forecast",
        responses=documented({200: BudgetSerializer}, refusals=(401, 404)),
    )
    def get(self, request, slug, budget_id):
        project = open_project(request, slug)
        budget = project_budget(project, budget_id)
        return Response(BudgetSerializer(budgets.budget_report(budget)).data)

    @extend_schema(
        operation_id="budgets_partial_update",
        tags=["budgets"],
        summary="Change a budget (admin); fields left out keep their value",
        request=BudgetChangeSerializer,
        responses=documented({200: BudgetSerializer}),
    )
    def patch(self, request, slug, budget_id):
        project = open_project(request, slug, role=Role.ADMIN)
        budget = project_budget(project, budget_id)
        budget = budgets.budget_update(
            budget=budget, actor=request.user, **body_fields(request)
        )
        return Response(BudgetSerializer(budgets.budget_report(budget)).data)

    @extend_schema(
        operation_id="budgets_destroy",
        tags=["budgets"],
        summary="Delete a budget and its alert history (admin)",
        responses=documented({204: None}, refusals=(401, 403, 404)),
    )
    def delete(self, request, slug, budget_id):
        project = open_project(request, slug, role=Role.ADMIN)
        budget = project_budget(project, budget_id)
        budgets.budget_delete(budget=budget, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
