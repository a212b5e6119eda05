"""Helpers for tracing tests: posting batches and building OTLP exports."""

import gzip
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from workbench.models import ApiKey


@pytest.fixture
def post_json(api, django_capture_on_commit_callbacks):
    """POST a JSON body and run the on-commit processing (Celery is eager)."""

    def _post(path, body, client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api).post(
                path, data=json.dumps(body), content_type="application/json", **extra
            )

    return _post


@pytest.fixture
def post_otel(api, django_capture_on_commit_callbacks):
    def _post(payload, *, content_type="application/x-protobuf", client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api).post(
                "/api/public/otel/v1/traces",
                data=payload,
                content_type=content_type,
                **extra,
            )

    return _post


@pytest.fixture
def project_key(project):
    """The api fixture's project, for direct service calls."""
    return ApiKey.objects.filter(project=project).first()


def _any_value(value):
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        any_value = AnyValue()
        any_value.array_value.values.extend(_any_value(item) for item in value)
        return any_value
    return AnyValue(string_value=value)


def key_values(mapping):
    return [
        KeyValue(key=key, value=_any_value(value)) for key, value in mapping.items()
    ]


def export(spans, *, resource=None, scope_name="langfuse-sdk", scope_version="5.0.4"):
    """An ExportTraceServiceRequest with one resource and one scope.

    Each span is a dict: name, trace_id / span_id / parent_span_id (hex),
    start / end (ns), attributes, status_code.
    """
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope_name
    scope_spans.scope.version = scope_version
    for spec in spans:
        span = scope_spans.spans.add()
        span.name = spec["name"]
        span.trace_id = bytes.fromhex(spec["trace_id"])
        span.span_id = bytes.fromhex(spec["span_id"])
        if spec.get("parent_span_id"):
            span.parent_span_id = bytes.fromhex(spec["parent_span_id"])
        span.start_time_unix_nano = spec["start"]
        span.end_time_unix_nano = spec.get("end", spec["start"])
        span.attributes.extend(key_values(spec.get("attributes", {})))
        if spec.get("status_code"):
            span.status.code = spec["status_code"]
    return request


def gzipped(request):
    return gzip.compress(request.SerializeToString())
