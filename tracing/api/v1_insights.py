"""Native API for the insight reports (``/api/v1/projects/<slug>/...``).

Token inflation, model choice and one prompt version's usage: the same
figures as the report pages and the version page's usage panel, from
``tracing.insights``. Any member of the project may read them.
"""

from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from prompts.api.v1 import version_access
from workbench.api.base import NativeApiView, documented, open_project

from .. import insights

PERIOD_PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATETIME,
        description="Start (ISO date or date and time, UTC when naive); "
        "defaults to 30 days before 'to'. Rounded down to the hour.",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATETIME,
        description="End, exclusive; defaults to now. Rounded up to the hour. "
        "The period may not exceed 366 days.",
    ),
]


def report_values(request, **wanted):
    """The report's parameters from the query string, or a 400 naming each."""
    values, errors = insights.report_query(request.query_params, **wanted)
    if errors:
        raise serializers.ValidationError(
            {name: [reason] for name, reason in errors.items()}
        )
    return values


# Serializers -------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Inclusive, on the hour (UTC).")
    end = serializers.DateTimeField(help_text="Exclusive, on the hour (UTC).")


class ScoreStatSerializer(serializers.Serializer):
    name = serializers.CharField()
    mean = serializers.FloatField(help_text="Booleans count as 0 and 1.")
    count = serializers.IntegerField()
    std = serializers.FloatField(
        allow_null=True, help_text="Sample standard deviation; null below 2 values."
    )


# Money is an exact decimal string to the database's 12 places, as in the spend
# report: a float would round cents of many small calls.
MONEY = {"max_digits": None, "decimal_places": 12, "coerce_to_string": True}


class UsageSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    errorRate = serializers.FloatField(source="error_rate", allow_null=True)
    cost = serializers.DecimalField(
        help_text="USD as a decimal string, priced calls only.", **MONEY
    )
    costPerCall = serializers.DecimalField(
        source="cost_per_call",
        allow_null=True,
        help_text="USD per priced call as a decimal string; null when no call "
        "was priced.",
        **MONEY,
    )
    unpricedCalls = serializers.IntegerField(source="unpriced_calls")
    meanTotalTokens = serializers.FloatField(
        source="mean_total_tokens", allow_null=True
    )
    meanInputTokens = serializers.FloatField(
        source="mean_input_tokens", allow_null=True
    )
    meanOutputTokens = serializers.FloatField(
        source="mean_output_tokens", allow_null=True
    )
    latencyP50 = serializers.FloatField(
        source="p50", allow_null=True, help_text="Seconds, within 1%."
    )
    latencyP95 = serializers.FloatField(source="p95", allow_null=True)
    latencyP99 = serializers.FloatField(source="p99", allow_null=True)


class LabelChangeSerializer(serializers.Serializer):
    label = serializers.CharField()
    fromVersion = serializers.IntegerField(source="from_version", allow_null=True)
    toVersion = serializers.IntegerField(source="to_version", allow_null=True)
    movedAt = serializers.DateTimeField(source="moved_at")
    movedBy = serializers.CharField(source="moved_by")
    text = serializers.CharField(help_text='e.g. "production moved v3 → v4".')


class InflationSerializer(serializers.Serializer):
    prompt = serializers.CharField(source="prompt_name")
    fromVersion = serializers.IntegerField(source="before_version")
    toVersion = serializers.IntegerField(source="after_version")
    ratio = serializers.FloatField(
        help_text="Mean total tokens per call of toVersion over fromVersion."
    )
    before = UsageSerializer()
    after = UsageSerializer()
    labelMoves = LabelChangeSerializer(
        many=True,
        source="label_changes",
        help_text="Label moves from 7 days before toVersion's first call on.",
    )
    diffUrl = serializers.SerializerMethodField(
        method_name="diff_url",
        help_text="The diff page of the two versions; null when not in the registry.",
    )

    def diff_url(self, item) -> str | None:
        if not item.in_registry:
            return None
        url = reverse("prompt-diff", args=[self.context["slug"], item.prompt_name])
        return f"{url}?from={item.before_version}&to={item.after_version}"


class InflationReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    factor = serializers.FloatField()
    data = InflationSerializer(many=True, help_text="Largest ratio first.")


class ModelRowSerializer(serializers.Serializer):
    model = serializers.CharField()
    usage = UsageSerializer()
    scores = serializers.SerializerMethodField()
    doesAsWell = serializers.BooleanField(
        source="does_as_well",
        help_text="Within tolerance of the best mean on every score name.",
    )
    pValuesVsBest = serializers.DictField(
        source="p_values",
        child=serializers.FloatField(allow_null=True),
        help_text=(
            "Per score name, Welch's t-test p-value for this model's mean "
            "differing from the best model's; null when either has fewer than "
            "two scores. The best model itself has no entry."
        ),
    )

    @extend_schema_field(ScoreStatSerializer(many=True))
    def get_scores(self, row):
        stats = sorted(row.scores.values(), key=lambda stat: stat.name)
        return ScoreStatSerializer(stats, many=True).data


class ModelComparisonSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The prompt name or feature.")
    scoreNames = serializers.ListField(
        source="score_names", child=serializers.CharField()
    )
    models = ModelRowSerializer(many=True, help_text="Most calls first.")
    cheaperModel = serializers.CharField(
        source="cheaper.model",
        allow_null=True,
        default=None,
        help_text="The cheapest model that does as well, when a dearer one is used.",
    )
    insteadOf = serializers.CharField(
        source="instead_of.model",
        allow_null=True,
        default=None,
        help_text="The model with the highest cost per call in the group.",
    )
    saving = serializers.FloatField(
        allow_null=True, help_text="1 - cheaper cost per call / insteadOf's."
    )


class ModelReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    by = serializers.ChoiceField(insights.GROUPINGS)
    tolerance = serializers.FloatField()
    data = ModelComparisonSerializer(many=True, help_text="Most calls first.")


class VersionUsageSerializer(serializers.Serializer):
    prompt = serializers.CharField(source="prompt_name")
    version = serializers.IntegerField(source="number")
    period = PeriodSerializer()
    usage = UsageSerializer()
    scores = ScoreStatSerializer(many=True, help_text="By score name.")
    tracesUrl = serializers.SerializerMethodField(
        method_name="traces_url", help_text="The trace list filtered to this version."
    )

    def traces_url(self, usage) -> str:
        url = reverse("trace-list", args=[self.context["slug"]])
        return (
            f"{url}?{urlencode({'prompt': usage.prompt_name, 'version': usage.number})}"
        )


# Views ------------------------------------------------------------------------


class InflationReport(NativeApiView):
    @extend_schema(
        operation_id="reports_inflation",
        tags=["reports"],
        summary="Prompt versions whose mean tokens per call rose by a factor",
        parameters=[
            OpenApiParameter(
                "factor",
                OpenApiTypes.NUMBER,
                description="Greater than 1, at most 100; default 1.5.",
            ),
            *PERIOD_PARAMETERS,
        ],
        responses=documented({200: InflationReportSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        values = report_values(request, factor=True)
        found = insights.token_inflation(
            project, values["period"], factor=values["factor"]
        )
        body = {"period": values["period"], "factor": values["factor"], "data": found}
        return Response(InflationReportSerializer(body, context={"slug": slug}).data)


class ModelReport(NativeApiView):
    @extend_schema(
        operation_id="reports_models",
        tags=["reports"],
        summary="Prompts or features served by more than one model, side by side",
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=list(insights.GROUPINGS)),
            OpenApiParameter(
                "tolerance",
                OpenApiTypes.NUMBER,
                description="Share of the best mean score a model needs to "
                "do as well: 0.5 to 1, default 0.95.",
            ),
            *PERIOD_PARAMETERS,
        ],
        responses=documented({200: ModelReportSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        values = report_values(request, tolerance=True, by=True)
        found = insights.model_choice(
            project,
            values["period"],
            by=values["by"],
            tolerance=values["tolerance"],
        )
        body = {
            "period": values["period"],
            "by": values["by"],
            "tolerance": values["tolerance"],
            "data": found,
        }
        return Response(ModelReportSerializer(body).data)


class VersionUsageView(NativeApiView):
    @extend_schema(
        operation_id="prompts_versions_usage",
        tags=["prompts"],
        summary="One version's calls, cost, tokens, latency, errors and scores",
        parameters=PERIOD_PARAMETERS,
        responses=documented({200: VersionUsageSerializer}),
    )
    def get(self, request, slug, prompt_id, number):
        access, version = version_access(request, slug, prompt_id, number)
        values = report_values(request)
        usage = insights.version_usage(
            access.project, access.prompt.name, version.number, period=values["period"]
        )
        return Response(VersionUsageSerializer(usage, context={"slug": slug}).data)
