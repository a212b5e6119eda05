"""One error shape for every API answer: ``{"message", "error"}``.

Langfuse clients map the status code to an exception class and show the
message, so the message names the field and the reason.
"""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

ERROR_NAMES = {
    400: "InvalidRequestError",
    401: "UnauthorizedError",
    403: "AccessDeniedError",
    404: "LangfuseNotFoundError",
    405: "MethodNotAllowedError",
    413: "PayloadTooLargeError",
    415: "UnsupportedMediaTypeError",
    429: "TooManyRequestsError",
}


def error_json(status_code, message, *, details=None):
    body = {"message": message, "error": ERROR_NAMES.get(status_code, "ApiError")}
    if details is not None:
        body["details"] = details
    return JsonResponse(body, status=status_code)


def flatten_validation_errors(detail, prefix=""):
    """Turn DRF's nested error detail into ``["field.sub: reason", ...]``."""
    if isinstance(detail, dict):
        lines = []
        for field, value in detail.items():
            name = field if field != "non_field_errors" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            lines.extend(flatten_validation_errors(value, path))
        return lines
    if isinstance(detail, list):
        lines = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                lines.extend(flatten_validation_errors(value, f"{prefix}[{index}]"))
            else:
                lines.extend(flatten_validation_errors(value, prefix))
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # A model's own validation refused the input: a 400, not a crash.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        lines = flatten_validation_errors(exc.detail)
        body = {
            "message": "Invalid request data: " + "; ".join(lines),
            "error": ERROR_NAMES[400],
            "details": exc.detail,
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    detail = getattr(exc, "detail", None)
    if detail is None:
        # Django's Http404 and PermissionDenied carry their message in args;
        # DRF converted them to a copy whose detail is in the response.
        detail = response.data.get("detail", "")
    body = {
        "message": str(detail),
        "error": ERROR_NAMES.get(response.status_code, "ApiError"),
    }
    response.data = body
    return response


def not_found(request, exception):
    """Django's 404 handler: the API's error shape for a path under ``/api/``
    that no route matches (``/api/v1/tokens/abc/``), the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return error_json(404, f"No such endpoint: {request.path}")
    return defaults.page_not_found(request, exception)
