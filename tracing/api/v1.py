"""The native API for reports (``/api/v1/projects/<slug>/reports/``).

The same figures as the Reports pages, read from the usage roll-ups. Money
is a decimal string (exact, unrounded), times are ISO 8601 in UTC. Any
member may read them; a bad parameter is a 400 naming it.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from workbench.api.base import NativeApiView, documented, open_project, parsed

from .. import usage

SPEND_BY = ("prompt", "version", "model", "user", "feature")
MONEY = {"max_digits": None, "decimal_places": None, "coerce_to_string": True}


# Serializers: input -----------------------------------------------------------


class PeriodQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        list(usage.PERIODS),
        required=False,
        help_text=(
            "A window ending now (24h, 7d, 30d, month: since the 1st, UTC) or "
            "custom; without it, from/to make a custom window and nothing "
            f"means {usage.DEFAULT_PERIOD}."
        ),
    )
    date_from = serializers.CharField(
        required=False,
        help_text="Start of a custom window: YYYY-MM-DD or YYYY-MM-DDTHH:MM "
        "(UTC unless an offset is given); rounded down to the hour.",
    )
    to = serializers.CharField(
        required=False,
        help_text="End of a custom window, exclusive; a date alone includes "
        "that whole day. Rounded up to the hour; defaults to now.",
    )

    def get_fields(self):
        # "from" is a keyword, so the field is declared under another name.
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        return fields

    def validate(self, data):
        try:
            data["window"] = usage.parse_period(data)
        except usage.PeriodError as error:
            raise serializers.ValidationError({error.field: [error.reason]}) from None
        return data


class SpendQuerySerializer(PeriodQuerySerializer):
    by = serializers.ChoiceField(SPEND_BY, required=False, default="prompt")


class TrendQuerySerializer(PeriodQuerySerializer):
    by = serializers.ChoiceField(
        usage.TREND_DIMENSIONS, required=False, default="prompt"
    )
    prompt = serializers.CharField(
        required=False, help_text="Only the calls of this prompt (by name)."
    )


# Serializers: output ----------------------------------------------------------


class WindowSerializer(serializers.Serializer):
    period = serializers.ChoiceField(list(usage.PERIODS), source="key")
    start = serializers.DateTimeField(help_text="Inclusive, on the hour.")
    end = serializers.DateTimeField(help_text="Exclusive, on the hour.")


class SpendRowSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="The group's prompt, model, user or feature; '' for calls "
        "without one. For by=version, the prompt's name."
    )
    version = serializers.IntegerField(
        allow_null=True, help_text="The prompt version, for by=version only."
    )
    share = serializers.DecimalField(
        source="exact_share", help_text="Fraction of the total cost, 0 to 1.", **MONEY
    )
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    inputTokens = serializers.IntegerField(source="input_tokens")
    outputTokens = serializers.IntegerField(source="output_tokens")
    totalTokens = serializers.IntegerField(source="total_tokens")
    cost = serializers.DecimalField(help_text="USD.", **MONEY)
    costPerCall = serializers.DecimalField(
        source="cost_per_call",
        allow_null=True,
        help_text="USD per priced call; null when no call was priced.",
        **MONEY,
    )
    unpricedCalls = serializers.IntegerField(source="unpriced_calls")


class SpendReportSerializer(serializers.Serializer):
    window = WindowSerializer()
    by = serializers.ChoiceField(SPEND_BY)
    data = SpendRowSerializer(many=True, help_text="Largest cost first.")
    totals = SpendRowSerializer(help_text="Every row added up; key is ''.")


class SeriesSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="'(other)' for the rest together.")
    other = serializers.BooleanField(source="is_other")
    cost = serializers.ListField(
        source="costs",
        child=serializers.DecimalField(**MONEY),
        help_text="USD per slot, in the order of `slots`.",
    )
    calls = serializers.ListField(child=serializers.IntegerField())


class LatencySerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="Calls with a known latency.")
    p50 = serializers.FloatField(allow_null=True, help_text="Seconds, within 1%.")
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class TrendReportSerializer(serializers.Serializer):
    window = WindowSerializer(source="period")
    by = serializers.ChoiceField(usage.TREND_DIMENSIONS)
    granularity = serializers.ChoiceField(
        ["hour", "day"], help_text="Hours for windows of two days or less."
    )
    slots = serializers.ListField(
        source="starts", child=serializers.DateTimeField(), help_text="Slot starts."
    )
    series = SeriesSerializer(
        many=True, help_text=f"The top {usage.TOP_SERIES} by cost, then '(other)'."
    )
    latency = LatencySerializer(many=True)


class UnpricedModelSerializer(serializers.Serializer):
    model = serializers.CharField()
    unpricedCalls = serializers.IntegerField(source="unpriced_calls")
    calls = serializers.IntegerField(help_text="All its calls in the window.")
    firstSeen = serializers.DateTimeField(
        source="first_seen", help_text="Start of the first hour with one."
    )
    lastSeen = serializers.DateTimeField(
        source="last_seen", help_text="End of the last hour with one."
    )


class UnpricedReportSerializer(serializers.Serializer):
    window = WindowSerializer()
    data = UnpricedModelSerializer(many=True)


# Views ----------------------------------------------------------------------


class ShareView:
    """A ShareRow as the serializer reads it: version rows split their key."""

    def __init__(self, row, by):
        self.row = row
        self.key, self.version = row.key, None
        if by == "version":
            self.key, self.version = row.key
        self.key = self.key or ""

    def __getattr__(self, name):
        return getattr(self.row, name)


class SpendReport(NativeApiView):
    @extend_schema(
        operation_id="reports_spend",
        tags=["reports"],
        summary="Each group's calls, tokens, cost and share of the cost",
        parameters=[SpendQuerySerializer],
        responses=documented({200: SpendReportSerializer}, refusals=(400, 401, 404)),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        query = parsed(SpendQuerySerializer, request.query_params)
        window, by = query["window"], query["by"]
        rows = usage.spend_share(project, start=window.start, end=window.end, by=by)
        totals = usage.share_totals(rows)
        totals.key = ""
        body = {
            "window": window,
            "by": by,
            "data": [ShareView(row, by) for row in rows],
            "totals": ShareView(totals, "total"),
        }
        return Response(SpendReportSerializer(body).data)


class TrendReport(NativeApiView):
    @extend_schema(
        operation_id="reports_trends",
        tags=["reports"],
        summary="Cost and calls per hour or day for the top groups; latency",
        parameters=[TrendQuerySerializer],
        responses=documented({200: TrendReportSerializer}, refusals=(400, 401, 404)),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        query = parsed(TrendQuerySerializer, request.query_params)
        trend = usage.trend(
            project, query["window"], by=query["by"], prompt=query.get("prompt")
        )
        return Response(TrendReportSerializer(trend).data)


class UnpricedReport(NativeApiView):
    @extend_schema(
        operation_id="reports_unpriced",
        tags=["reports"],
        summary="Models with calls that no price matched",
        parameters=[PeriodQuerySerializer],
        responses=documented({200: UnpricedReportSerializer}, refusals=(400, 401, 404)),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        window = parsed(PeriodQuerySerializer, request.query_params)["window"]
        models = usage.unpriced_models(project, window)
        body = {"window": window, "data": models}
        return Response(UnpricedReportSerializer(body).data)
