"""The native API for a project's model prices, under ``/api/v1/projects/<slug>/``.

Members read prices; admins create, change and delete them. Prices are USD
per unit (per token for ``TOKENS``), as decimal strings. Every change queues
a re-pricing of the calls it may affect; the answer names that job.
"""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from tracing import selectors, services
from tracing.model_prices import (
    PATTERN_MAX_LENGTH,
    PRICE_KEYS,
    UNITS,
    ModelPriceInputError,
    pattern_check,
    prices_check,
    stored_prices,
)
from tracing.models import JobStatus, ModelPrice
from workbench.api.base import NativeApiView, documented, list_of, open_project
from workbench.models import Role

# Service field names as the API spells them.
API_FIELDS = {
    "model_name": "modelName",
    "match_pattern": "matchPattern",
    "start_date": "startDate",
}


# The pages show and take prices per 1M tokens; the API does not scale them.
PER_UNIT = (
    "USD per single unit: per token for TOKENS (not per 1M tokens as the "
    "prices pages show them; $2.50 / 1M tokens is 0.0000025), per character, "
    "per image and so on for the other units"
)
UNIT_HELP = "What one unit of usage is; the prices are USD per one of it."


class ModelPriceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    modelName = serializers.CharField(source="model_name")
    matchPattern = serializers.CharField(source="match_pattern")
    startDate = serializers.DateTimeField(
        source="start_date",
        allow_null=True,
        help_text="From when the price applies; null: since always.",
    )
    unit = serializers.ChoiceField(UNITS, help_text=UNIT_HELP)
    prices = serializers.SerializerMethodField(
        help_text=f"By usage key, as decimal strings: {PER_UNIT}."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_prices(self, model_price) -> dict[str, str]:
        return {
            key: format(Decimal(str(value)), "f")
            for key, value in (model_price.prices or {}).items()
        }


class RepricingSerializer(serializers.Serializer):
    """The queued job re-pricing the calls a change may affect."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(JobStatus.choices)


class ModelPriceChangeSerializer(ModelPriceSerializer):
    repricingJob = RepricingSerializer(source="repricing_job")


class RepricingAnswerSerializer(serializers.Serializer):
    repricingJob = RepricingSerializer()


class ModelPriceInputSerializer(serializers.Serializer):
    modelName = serializers.CharField(max_length=255)
    matchPattern = serializers.CharField(
        max_length=PATTERN_MAX_LENGTH,
        help_text="A Python regular expression searched in the call's model name.",
    )
    startDate = serializers.DateTimeField(required=False, allow_null=True)
    unit = serializers.ChoiceField(
        UNITS, required=False, default="TOKENS", help_text=UNIT_HELP
    )
    prices = serializers.DictField(
        child=serializers.DecimalField(max_digits=30, decimal_places=20),
        help_text=(f"{PER_UNIT}. Usage keys: {', '.join(sorted(PRICE_KEYS))}."),
    )

    def validate_matchPattern(self, value):  # noqa: N802 (DRF names it after the field)
        try:
            return pattern_check(value)
        except ModelPriceInputError as error:
            raise serializers.ValidationError(error.reason) from error

    def validate_prices(self, value):
        try:
            return stored_prices(prices_check(value))
        except ModelPriceInputError as error:
            key = error.field.removeprefix("prices").lstrip(".")
            raise serializers.ValidationError(
                {key: [error.reason]} if key else [error.reason]
            ) from error


def _values(data):
    return {
        "model_name": data["modelName"],
        "match_pattern": data["matchPattern"],
        "start_date": data.get("startDate"),
        "unit": data.get("unit") or "TOKENS",
        "prices": data["prices"],
    }


def _input_error(error):
    field = API_FIELDS.get(error.field, error.field)
    return exceptions.ValidationError({field: [error.reason]})


def _parsed(request, partial=False):
    serializer = ModelPriceInputSerializer(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def project_model_price(project, price_id):
    model_price = ModelPrice.objects.filter(project=project, pk=price_id).first()
    if model_price is None:
        raise Http404("No such model price.")
    return model_price


def _changed(model_price, job, status_code=status.HTTP_200_OK):
    model_price.repricing_job = job
    body = ModelPriceChangeSerializer(model_price).data
    return Response(body, status=status_code)


class ModelPriceCollection(NativeApiView):
    """The project's own model prices; calls no price matches use genai-prices."""

    @extend_schema(
        operation_id="model_prices_list",
        tags=["model prices"],
        summary="The project's own model prices, by model, newest start first",
        responses=documented({200: list_of(ModelPriceSerializer)}, refusals=(401, 404)),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        found = selectors.model_price_list(project_id=project.id)
        return Response({"data": ModelPriceSerializer(found, many=True).data})

    @extend_schema(
        operation_id="model_prices_create",
        tags=["model prices"],
        summary="Add a model price and re-price the calls it matches (admin)",
        request=ModelPriceInputSerializer,
        responses=documented({201: ModelPriceChangeSerializer}),
    )
    def post(self, request, slug):
        project = open_project(request, slug, role=Role.ADMIN)
        data = _parsed(request)
        try:
            model_price, job = services.model_price_create(
                project_id=project.id, user=request.user, **_values(data)
            )
        except ModelPriceInputError as error:
            raise _input_error(error) from error
        return _changed(model_price, job, status.HTTP_201_CREATED)


class ModelPriceItem(NativeApiView):
    """One model price. A change answers with the re-pricing job it queued."""

    @extend_schema(
        operation_id="model_prices_retrieve",
        tags=["model prices"],
        summary="One model price",
        responses=documented({200: ModelPriceSerializer}, refusals=(401, 404)),
    )
    def get(self, request, slug, price_id):
        project = open_project(request, slug)
        model_price = project_model_price(project, price_id)
        return Response(ModelPriceSerializer(model_price).data)

    @extend_schema(
        operation_id="model_prices_update",
        tags=["model prices"],
        summary="Change a model price; fields left out keep their value (admin)",
        request=ModelPriceInputSerializer,
        responses=documented({200: ModelPriceChangeSerializer}),
    )
    def patch(self, request, slug, price_id):
        project = open_project(request, slug, role=Role.ADMIN)
        model_price = project_model_price(project, price_id)
        data = _parsed(request, partial=True)
        current = {
            "modelName": model_price.model_name,
            "matchPattern": model_price.match_pattern,
            "startDate": model_price.start_date,
            "unit": model_price.unit,
            "prices": model_price.prices,
        }
        try:
            model_price, job = services.model_price_update(
                model_price=model_price,
                user=request.user,
                **_values({**current, **data}),
            )
        except ModelPriceInputError as error:
            raise _input_error(error) from error
        return _changed(model_price, job)

    @extend_schema(
        operation_id="model_prices_destroy",
        tags=["model prices"],
        summary="Delete a model price and re-price the calls it priced (admin)",
        responses=documented({200: RepricingAnswerSerializer}),
    )
    def delete(self, request, slug, price_id):
        project = open_project(request, slug, role=Role.ADMIN)
        model_price = project_model_price(project, price_id)
        job = services.model_price_delete(model_price=model_price, user=request.user)
        body = {"repricingJob": RepricingSerializer(job).data}
        return Response(body)
