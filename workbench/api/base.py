"""Base classes for the API views: the Langfuse-compatible public API (API
keys) and the native API (users, by access token or browser session)."""

import functools

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from prompts.errors import PromptError, PromptForbidden, PromptInputError
from workbench.auth import AccessTokenAuthentication, ApiKeyAuthentication
from workbench.models import Role
from workbench.selectors import project_for_user
from workbench.services import SettingsInputError
from workbench.webhooks import WebhookInputError


class PublicApiView(APIView):
    """Authenticated by a project's API key; ``request.user`` is the project's
    ServicePrincipal and every query must be scoped to its ``project_id``."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]


class NativeApiView(APIView):
    """A view of the native API (``/api/v1/``), which acts as a user.

    Scripts send a personal access token (``Authorization: Bearer wbt_...``);
    the browser uses its session, and then DRF checks the CSRF token on
    every write. Service errors become the API's error shape with their
    status: bad input 400 naming the field, refusals 403, misses 404.
    """

    authentication_classes = [AccessTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc):
        return super().handle_exception(api_exception(exc))


def api_exception(exc):
    """The DRF exception for a service's error; other exceptions unchanged."""
    if isinstance(exc, PromptInputError | SettingsInputError | WebhookInputError):
        return exceptions.ValidationError({exc.field: [exc.reason]})
    if isinstance(exc, PromptForbidden):
        return exceptions.PermissionDenied(exc.message)
    if isinstance(exc, PromptError) and exc.status == 404:
        return exceptions.NotFound(exc.message)
    if isinstance(exc, PromptError):
        return exceptions.ValidationError([exc.message])
    return exc


class AccessTokenScheme(OpenApiAuthenticationExtension):
    """Names the Bearer token in the OpenAPI schema (registered by import)."""

    target_class = AccessTokenAuthentication
    name = "accessToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Bearer",
            bearer_format="wbt_<prefix>_<secret>",
        )


class ErrorSerializer(serializers.Serializer):
    """The error shape of every API answer (workbench.api.errors)."""

    message = serializers.CharField(help_text="What went wrong, naming the field.")
    error = serializers.CharField(
        help_text="The error's class, e.g. UnauthorizedError."
    )
    details = serializers.JSONField(
        required=False, help_text="Per-field reasons, for invalid request data."
    )


REFUSALS = (400, 401, 403, 404)


def documented(answers, *, refusals=REFUSALS):
    """``answers`` for extend_schema, plus the error shape for ``refusals``."""
    return {**answers, **dict.fromkeys(refusals, ErrorSerializer)}


def open_project(request, slug, *, role=Role.VIEWER):
    """The project for a member with at least ``role`` (404 outsiders, 403 below)."""
    project, _ = project_for_user(request.user, slug, role=role)
    return project


def parsed(serializer_class, data):
    """``data`` validated by ``serializer_class``, or a 400 naming each field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@functools.cache
def list_of(serializer_class):
    """The ``{"data": [...]}`` serializer of a list answer (one class per item
    class, so the schema names each once)."""
    return type(
        f"{serializer_class.__name__.removesuffix('Serializer')}List",
        (serializers.Serializer,),
        {"data": serializer_class(many=True)},
    )
