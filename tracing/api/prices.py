"""``/api/public/models``: the project's own model price definitions."""

import uuid

from rest_framework import serializers
from rest_framework.response import Response

from tracing import selectors, services
from tracing.model_prices import UNITS, ModelPriceInputError
from tracing.price_patterns import PatternError, pattern_compile
from workbench.api.base import PublicApiView
from workbench.api.errors import error_json

from . import output
from .params import paginate, pagination


class PriceSerializer(serializers.Serializer):
    price = serializers.FloatField(min_value=0)


class ModelPriceInput(serializers.Serializer):
    modelName = serializers.CharField(max_length=255)
    matchPattern = serializers.CharField(max_length=500)
    startDate = serializers.DateTimeField(required=False, allow_null=True)
    unit = serializers.ChoiceField(choices=UNITS, required=False, default="TOKENS")
    inputPrice = serializers.FloatField(min_value=0, required=False, allow_null=True)
    outputPrice = serializers.FloatField(min_value=0, required=False, allow_null=True)
    totalPrice = serializers.FloatField(min_value=0, required=False, allow_null=True)
    prices = serializers.DictField(
        child=PriceSerializer(), required=False, allow_null=True
    )
    tokenizerId = serializers.CharField(
        max_length=40, required=False, allow_null=True, allow_blank=True
    )
    tokenizerConfig = serializers.JSONField(required=False, allow_null=True)

    def validate_matchPattern(self, value):  # noqa: N802 (DRF names it after the field)
        try:
            pattern_compile(value)
        except PatternError as error:
            raise serializers.ValidationError(
                f"not a valid regular expression ({error})"
            ) from error
        return value

    def validate(self, attrs):
        flat = {
            key: attrs.get(name)
            for key, name in (
                ("input", "inputPrice"),
                ("output", "outputPrice"),
                ("total", "totalPrice"),
            )
            if attrs.get(name) is not None
        }
        detailed = {
            key: item["price"] for key, item in (attrs.get("prices") or {}).items()
        }
        if flat and detailed:
            raise serializers.ValidationError(
                {"prices": "send either prices or inputPrice/outputPrice/totalPrice"}
            )
        attrs["price_map"] = detailed or flat
        return attrs


class ModelListView(PublicApiView):
    def get(self, request):
        page, limit = pagination(request.query_params)
        models, total = paginate(
            selectors.model_price_list(project_id=request.user.project_id), page, limit
        )
        return Response(
            {
                "data": [output.model_price_json(m) for m in models],
                "meta": output.page_meta(page, limit, total),
            }
        )

    def post(self, request):
        body = ModelPriceInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            model_price, _ = services.model_price_create(
                project_id=request.user.project_id,
                model_name=data["modelName"],
                match_pattern=data["matchPattern"],
                start_date=data.get("startDate"),
                unit=data.get("unit") or "TOKENS",
                prices=data["price_map"],
                tokenizer_id=data.get("tokenizerId") or None,
                tokenizer_config=data.get("tokenizerConfig"),
            )
        except ModelPriceInputError as error:
            field = {"start_date": "startDate"}.get(error.field, error.field)
            raise serializers.ValidationError({field: [error.reason]}) from error
        return Response(output.model_price_json(model_price))


def _model_or_none(request, model_id):
    try:
        uuid.UUID(str(model_id))
    except ValueError:
        return None
    return selectors.model_price_detail(
        project_id=request.user.project_id, model_id=model_id
    )


class ModelDetailView(PublicApiView):
    def get(self, request, model_id):
        model_price = _model_or_none(request, model_id)
        if model_price is None:
            return error_json(404, f"Model not found: {model_id!r}")
        return Response(output.model_price_json(model_price))

    def delete(self, request, model_id):
        model_price = _model_or_none(request, model_id)
        if model_price is None:
            return error_json(404, f"Model not found: {model_id!r}")
        services.model_price_delete(model_price=model_price)
        return Response(status=204)
