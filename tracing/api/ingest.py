"""Write endpoints: batch ingestion, OTLP traces and scores.

Each validates, stores the accepted body in one transaction and answers;
the processing happens in a Celery task.
"""

import json
import logging
import uuid

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from tracing import services
from tracing.ingestion import EventError, normalise_score_item, validate_batch
from tracing.models import BatchSource
from tracing.otel import (
    JSON,
    PROTOBUF,
    OtelError,
    check_span_ids,
    decode_export,
    export_warnings,
    warning_message,
)
from workbench.api.base import PublicApiView
from workbench.api.errors import error_json

from .bodies import BodyError, decoded_body, otel_body

logger = logging.getLogger(__name__)

MAX_INGESTION_VERSION = 4
PROTOBUF_TYPES = {PROTOBUF, "application/protobuf"}


def _sdk_version(request):
    return request.META.get("HTTP_X_LANGFUSE_SDK_VERSION", "")


def _json_body(request):
    body = decoded_body(request, settings.INGESTION_MAX_BODY_BYTES)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BodyError(400, "body: not valid JSON") from error


class IngestionView(PublicApiView):
    """``POST /api/public/ingestion``: a batch of events, answered per event."""

    def post(self, request):
        try:
            document = _json_body(request)
        except BodyError as error:
            return error.response()
        if not isinstance(document, dict) or not isinstance(
            document.get("batch"), list
        ):
            return error_json(
                400, "Invalid request data: batch: required, a list of events"
            )
        to_store, successes, errors = validate_batch(document["batch"])
        if to_store:
            services.batch_store(
                project_id=request.user.project_id,
                source=BatchSource.INGESTION,
                events=to_store,
                sdk_version=_sdk_version(request),
            )
        if errors:
            logger.info(
                "Rejected %s of %s events for project %s",
                len(errors),
                len(document["batch"]),
                request.user.project_id,
            )
        return JsonResponse({"successes": successes, "errors": errors}, status=207)


def _content_type(request):
    return request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


def _check_ingestion_version(request):
    raw = request.META.get("HTTP_X_LANGFUSE_INGESTION_VERSION")
    if raw is None:
        return
    try:
        version = int(raw.strip())
    except ValueError as error:
        raise BodyError(400, "x-langfuse-ingestion-version: not a number") from error
    if version > MAX_INGESTION_VERSION:
        raise BodyError(
            400,
            f"x-langfuse-ingestion-version: {version} is newer than this server "
            f"supports ({MAX_INGESTION_VERSION})",
        )


class OtelTracesView(PublicApiView):
    """``POST /api/public/otel/v1/traces``: an OTLP/HTTP export (protobuf or JSON)."""

    def post(self, request):
        content_type = _content_type(request)
        if content_type in PROTOBUF_TYPES:
            content_type = PROTOBUF
        elif content_type != JSON:
            return error_json(
                415,
                f"Content-Type: {content_type or 'missing'!r} is not supported; "
                "send application/x-protobuf or application/json",
            )
        try:
            _check_ingestion_version(request)
            payload = otel_body(request)
        except BodyError as error:
            return error.response()
        try:
            export = decode_export(payload, content_type)
            span_count = check_span_ids(export)
        except OtelError as error:
            return error_json(400, str(error))
        warnings = export_warnings(export)
        if span_count:
            services.otel_batch_store(
                project_id=request.user.project_id,
                payload=payload,
                content_type=content_type,
                sdk_version=_sdk_version(request),
                span_count=span_count,
            )
        if not warnings:
            return JsonResponse({})
        logger.info(
            "Accepted %s spans for project %s, dropping %s bad attribute(s): %s",
            span_count,
            request.user.project_id,
            len(warnings),
            warnings[0],
        )
        return _partial_success(content_type, warning_message(warnings))


def _partial_success(content_type, message):
    """OTLP's answer for "all spans kept, with a warning", in the request's encoding.

    The spec lets a server warn with ``rejected_spans`` 0 and a non-empty
    ``error_message``; exporters log it.
    """
    answer = ExportTraceServiceResponse()
    answer.partial_success.rejected_spans = 0
    answer.partial_success.error_message = message
    if content_type == PROTOBUF:
        return HttpResponse(answer.SerializeToString(), content_type=PROTOBUF)
    return JsonResponse(json_format.MessageToDict(answer))


def _with_id(item):
    if isinstance(item, dict) and not item.get("id"):
        item = {**item, "id": uuid.uuid4().hex}
    if isinstance(item, dict) and not isinstance(item["id"], str):
        raise EventError("id: must be a string")
    return item


def _check_score(item, prefix):
    item = _with_id(item)
    # Validation only: the real received time is the batch's, at processing.
    normalise_score_item(item, prefix=prefix, received_at=None)
    return item


class ScoresView(PublicApiView):
    """``POST /api/public/scores``: one score (4.x servers) or an array (5.x SDK)."""

    def post(self, request):
        try:
            document = _json_body(request)
        except BodyError as error:
            return error.response()
        if isinstance(document, dict):
            return self._one(request, document)
        if isinstance(document, list):
            return self._many(request, document)
        return error_json(400, "body: a score object or an array of scores")

    def _store(self, request, items):
        services.batch_store(
            project_id=request.user.project_id,
            source=BatchSource.SCORES,
            events=items,
            sdk_version=_sdk_version(request),
        )

    def _one(self, request, document):
        try:
            item = _check_score(document, "")
        except EventError as error:
            return error_json(400, f"Invalid request data: {error}")
        self._store(request, [item])
        return JsonResponse({"id": item["id"]})

    def _many(self, request, documents):
        accepted, errors = [], []
        for index, document in enumerate(documents):
            try:
                accepted.append(_check_score(document, f"[{index}]."))
            except EventError as error:
                errors.append({"message": str(error)})
        if documents and not accepted:
            return error_json(
                400, "Invalid request data: " + "; ".join(e["message"] for e in errors)
            )
        if accepted:
            self._store(request, accepted)
        if errors:
            body = {
                "accepted": len(accepted),
                "rejected": len(errors),
                "errors": errors,
            }
            return JsonResponse(body, status=207)
        return JsonResponse({"message": "Accepted"}, status=202)
