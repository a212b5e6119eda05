"""Rows as Langfuse's JSON shapes (Trace, ObservationsView, Score, Model)."""

from decimal import Decimal

MILLION = Decimal(1_000_000)


def iso(value):
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _number(value):
    if value is None:
        return None
    return float(value)


def trace_json(trace, *, project_slug=None):
    body = {
        "id": trace.trace_id,
        "projectId": str(trace.project_id),
        "timestamp": iso(trace.timestamp),
        "name": trace.name,
        "input": trace.input,
        "output": trace.output,
        "sessionId": trace.session_id,
        "release": trace.release,
        "version": trace.version,
        "userId": trace.user_id,
        "metadata": trace.metadata,
        "tags": trace.tags or [],
        "public": trace.public,
        "environment": trace.environment,
        "bookmarked": False,
        "createdAt": iso(trace.created_at),
        "updatedAt": iso(trace.updated_at),
    }
    if project_slug is not None:
        body["htmlPath"] = f"/p/{project_slug}/traces/{trace.trace_id}/"
    return body


def trace_list_json(trace, rollup, *, project_slug):
    body = trace_json(trace, project_slug=project_slug)
    start, end = rollup.get("start"), rollup.get("end")
    body["latency"] = (end - start).total_seconds() if start and end else 0
    body["totalCost"] = _number(rollup.get("cost")) or 0
    body["observations"] = rollup["observations"]
    body["scores"] = rollup["scores"]
    return body


def _unit_prices(price_used):
    """Per-token input, output and total prices of the definition applied."""
    if not price_used or "prices" not in price_used:
        return None, None, None
    prices = price_used["prices"]
    if price_used.get("source") == "public":
        per_million = [prices.get(key) for key in ("input_mtok", "output_mtok")]
        input_price, output_price = (
            float(Decimal(value) / MILLION) if value else None for value in per_million
        )
        return input_price, output_price, None
    return tuple(_number(prices.get(key)) for key in ("input", "output", "total"))


def _cost_details(observation):
    return {
        key: float(value) for key, value in (observation.cost_details or {}).items()
    }


def observation_json(observation):
    usage = observation.usage_details or {}
    costs = _cost_details(observation)
    input_price, output_price, total_price = _unit_prices(observation.price_used)
    price_used = observation.price_used or {}
    return {
        "id": observation.observation_id,
        "traceId": observation.trace_id,
        "projectId": str(observation.project_id),
        "type": observation.type,
        "name": observation.name,
        "startTime": iso(observation.start_time),
        "endTime": iso(observation.end_time),
        "completionStartTime": iso(observation.completion_start_time),
        "model": observation.model,
        "modelParameters": observation.model_parameters,
        "input": observation.input,
        "output": observation.output,
        "metadata": observation.metadata,
        "version": observation.version,
        "level": observation.level,
        "statusMessage": observation.status_message,
        "parentObservationId": observation.parent_observation_id,
        "environment": observation.environment,
        "usage": {
            "input": usage.get("input", 0),
            "output": usage.get("output", 0),
            "total": usage.get("total", 0),
            "unit": "TOKENS",
        },
        "usageDetails": usage,
        "costDetails": costs,
        "promptId": str(observation.prompt_version_id)
        if observation.prompt_version_id
        else None,
        "promptName": observation.prompt_name,
        "promptVersion": observation.prompt_version_number,
        "modelId": price_used.get("modelId"),
        "inputPrice": input_price,
        "outputPrice": output_price,
        "totalPrice": total_price,
        "calculatedInputCost": costs.get("input"),
        "calculatedOutputCost": costs.get("output"),
        "calculatedTotalCost": _number(observation.total_cost),
        "priceSource": observation.price_source or None,
        "latency": observation.latency_seconds,
        "timeToFirstToken": observation.time_to_first_token_seconds,
        "createdAt": iso(observation.created_at),
        "updatedAt": iso(observation.updated_at),
    }


def score_json(score):
    return {
        "id": score.score_id,
        "projectId": str(score.project_id),
        "traceId": score.trace_id,
        "observationId": score.observation_id,
        "sessionId": score.session_id,
        "datasetRunId": score.dataset_run_id,
        "name": score.name,
        "value": score.value,
        "stringValue": score.string_value,
        "dataType": score.data_type,
        "comment": score.comment,
        "metadata": score.metadata,
        "source": score.source,
        "configId": score.config_id,
        "environment": score.environment,
        "timestamp": iso(score.timestamp),
        "createdAt": iso(score.created_at),
        "updatedAt": iso(score.updated_at),
        "authorUserId": None,
        "queueId": None,
    }


def model_price_json(model_price):
    prices = model_price.prices or {}
    return {
        "id": str(model_price.pk),
        "modelName": model_price.model_name,
        "matchPattern": model_price.match_pattern,
        "startDate": iso(model_price.start_date),
        "unit": model_price.unit,
        "inputPrice": prices.get("input"),
        "outputPrice": prices.get("output"),
        "totalPrice": prices.get("total"),
        "prices": {key: {"price": value} for key, value in prices.items()},
        "pricingTiers": [
            {
                "id": f"{model_price.pk}-default",
                "name": "Standard",
                "isDefault": True,
                "priority": 0,
                "conditions": [],
                "prices": prices,
            }
        ],
        "tokenizerId": model_price.tokenizer_id,
        "tokenizerConfig": model_price.tokenizer_config,
        "isLangfuseManaged": False,
        "createdAt": iso(model_price.created_at),
        "updatedAt": iso(model_price.updated_at),
    }


def model_usage_json(usage):
    return {
        "model": usage.model or None,
        "inputUsage": usage.input_tokens,
        "outputUsage": usage.output_tokens,
        "totalUsage": usage.total_tokens,
        "countObservations": usage.calls,
        "countTraces": usage.traces,
        "totalCost": float(usage.cost),
    }


def daily_usage_json(daily):
    return {
        "date": daily.day.isoformat(),
        "countTraces": daily.traces,
        "countObservations": daily.calls,
        "totalCost": float(daily.cost),
        "usage": [model_usage_json(usage) for usage in daily.models],
    }


def page_meta(page, limit, total):
    return {
        "page": page,
        "limit": limit,
        "totalItems": total,
        "totalPages": (total + limit - 1) // limit if total else 0,
    }
