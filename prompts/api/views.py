"""The Langfuse-compatible prompt endpoints under ``/api/public/v2/prompts``.

Plain Django views rather than DRF: the fetch serves hundreds of requests a
second and a cache hit must cost two cache reads and nothing else, and the
other endpoints share its URL, authentication and error handling.
"""

import functools
import json
import logging
import math

from django.http import HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from prompts import services
from prompts.cache import BY_LABEL, BY_VERSION, Lookup
from prompts.errors import PromptError, PromptInputError, PromptNotFound
from prompts.models import LABEL_PATTERN
from prompts.selectors import PRODUCTION, prompt_page, version_for
from workbench.api.errors import error_json
from workbench.auth import (
    ApiKeyError,
    api_key_record_key,
    authenticate_api_key,
    parse_basic_credentials,
    principal_from_record,
)
from workbench.models import Project

from .bodies import encode, prompt_body, prompt_row

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# public key -> project id, learnt per worker process; bounded by clearing.
_key_projects = {}
KEY_PROJECTS_MAX = 10_000


def public_endpoint(*methods):
    """Method check, API-key authentication and JSON errors for a view.

    The view is called as ``view(request, principal, **kwargs)``.
    """

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def handle(request, **kwargs):
            if request.method not in methods:
                response = error_json(
                    405,
                    f"Method {request.method} not allowed; use {', '.join(methods)}",
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                principal = authenticate_api_key(
                    request.META.get("HTTP_AUTHORIZATION", "")
                )
            except ApiKeyError as error:
                return _unauthorized(error)
            try:
                return view(request, principal, **kwargs)
            except PromptError as error:
                return error_json(error.status, error.message)

        return handle

    return decorate


@public_endpoint("GET", "POST")
def prompt_collection(request, principal):
    if request.method == "POST":
        return _create(request, principal)
    return _list(request, principal)


@csrf_exempt
def prompt_item(request, name):
    # The fetch authenticates by itself, in the same cache round trip as its
    # prompt entry; everything else takes the common path.
    if request.method == "GET":
        return _fetch(request, name)
    return _prompt_delete(request, name=name)


@public_endpoint("GET", "DELETE")
def _prompt_delete(request, principal, name):
    return _delete(request, principal, name)


@csrf_exempt
def prompt_version(request, name, version):
    if request.method == "PATCH":
        return _prompt_version_labels(request, name=name, version=version)
    # Not a PATCH: the whole path is a name (one that cannot exist, since
    # names hold no "/versions/<n>" segment), so answer as for any name.
    return prompt_item(request, name=f"{name}/versions/{version}")


@public_endpoint("PATCH")
def _prompt_version_labels(request, principal, name, version):
    body = _json_object(request)
    if "newLabels" not in body:
        raise PromptInputError("newLabels", "is required: a list of labels to add")
    prompt_version = version_for(principal.project_id, name, version=version)
    services.labels_add(
        version=prompt_version, labels=body["newLabels"], actor=principal
    )
    refreshed = version_for(principal.project_id, name, version=version)
    return JsonResponse(prompt_body(refreshed))


# The hot path -------------------------------------------------------------


def _fetch(request, name):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    try:
        kind, value = _fetch_target(request.GET)
    except PromptInputError as error:
        return _after_authentication(header, error)
    if kind == BY_LABEL and not LABEL_PATTERN.match(value):
        # No label can have that name: a typo to point out, not a miss. The
        # SDKs raise (and serve a fallback) on a 400 exactly as on a 404.
        return _after_authentication(
            header,
            PromptInputError(
                "label",
                f"{value!r} is not a valid label: 1-36 characters of a-z, 0-9, "
                "'_', '-' and '.'",
            ),
        )
    try:
        project_id, lookup = _authenticated_lookup(header, name, kind, value)
    except ApiKeyError as error:
        return _unauthorized(error)
    fetch = lookup.hit or lookup.fill(
        lambda: _fetch_body(project_id, name, kind, value)
    )
    if fetch.body is None:
        return error_json(404, _not_found_message(name, kind, value))
    if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), fetch.etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(fetch.body, content_type="application/json")
    response["ETag"] = fetch.etag
    return response


def _authenticated_lookup(header, name, kind, value):
    """``(project_id, Lookup)`` for a valid key, or raise ApiKeyError.

    A key's project never changes, so once a worker has seen the key it
    reads the key record together with the prompt's entries: a cache hit
    costs one round trip. The secret is still checked on every request
    against the record, so a revoked key (whose record is forgotten) falls
    back to the full check at once.
    """
    public_key, secret = parse_basic_credentials(header)
    project_id = _key_projects.get(public_key)
    if project_id is not None:
        record_key = api_key_record_key(public_key)
        lookup = Lookup(project_id, name, kind, value, extra_keys=[record_key])
        principal = principal_from_record(public_key, secret, lookup.extra[record_key])
        if principal is not None and principal.project_id == project_id:
            return project_id, lookup
    principal = authenticate_api_key(header)
    if len(_key_projects) >= KEY_PROJECTS_MAX:
        _key_projects.clear()
    _key_projects[public_key] = principal.project_id
    return principal.project_id, Lookup(principal.project_id, name, kind, value)


def _after_authentication(header, error):
    """Answer ``error``, unless the key is bad: that is a 401 first."""
    try:
        authenticate_api_key(header)
    except ApiKeyError as key_error:
        return _unauthorized(key_error)
    return error_json(error.status, error.message)


def _unauthorized(error):
    response = error_json(401, str(error))
    response["WWW-Authenticate"] = 'Basic realm="api"'
    return response


def _fetch_target(query):
    label, version = query.get("label"), query.get("version")
    if label is not None and version is not None:
        raise PromptInputError("version", "give either version or label, not both")
    if version is not None:
        return BY_VERSION, _positive_int("version", version)
    return BY_LABEL, label or PRODUCTION


def _fetch_body(project_id, name, kind, value):
    try:
        if kind == BY_VERSION:
            version = version_for(project_id, name, version=value)
        else:
            version = version_for(project_id, name, label=value)
    except PromptNotFound:
        return None
    return encode(prompt_body(version))


def _not_found_message(name, kind, value):
    if kind == BY_VERSION:
        return f"Prompt not found: '{name}' with version {value}"
    return f"Prompt not found: '{name}' with label '{value}'"


def _etag_matches(header, etag):
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


# The other endpoints ------------------------------------------------------


def _create(request, principal):
    body = _json_object(request)
    if "prompt" not in body:
        raise PromptInputError("prompt", "is required")
    project = Project.objects.get(pk=principal.project_id)
    version = services.version_create(
        project=project,
        name=body.get("name"),
        content=body["prompt"],
        type=body.get("type"),
        config=body.get("config"),
        labels=body.get("labels") or [],
        tags=body.get("tags"),
        commit_message=body.get("commitMessage"),
        actor=principal,
    )
    return JsonResponse(prompt_body(version), status=201)


def _list(request, principal):
    query = request.GET
    page = _positive_int("page", query.get("page", "1"))
    limit = _positive_int("limit", query.get("limit", str(DEFAULT_LIMIT)))
    if limit > MAX_LIMIT:
        raise PromptInputError("limit", f"must be at most {MAX_LIMIT}")
    rows, total = prompt_page(
        principal.project_id,
        name=query.get("name"),
        label=query.get("label"),
        tag=query.get("tag"),
        from_updated_at=_datetime("fromUpdatedAt", query.get("fromUpdatedAt")),
        to_updated_at=_datetime("toUpdatedAt", query.get("toUpdatedAt")),
        page=page,
        limit=limit,
    )
    return JsonResponse(
        {
            "data": [prompt_row(row) for row in rows],
            "meta": {
                "page": page,
                "limit": limit,
                "totalItems": total,
                "totalPages": math.ceil(total / limit),
            },
        }
    )


def _delete(request, principal, name):
    version, label = request.GET.get("version"), request.GET.get("label")
    if version is not None and label is not None:
        raise PromptInputError("version", "give either version or label, not both")
    project = Project.objects.get(pk=principal.project_id)
    services.prompt_delete(
        project=project,
        name=name,
        version=_positive_int("version", version) if version is not None else None,
        label=label,
        actor=principal,
    )
    return HttpResponse(status=204)


# Input parsing ------------------------------------------------------------


def _json_object(request):
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise PromptInputError("body", f"is not valid JSON ({error})") from error
    if not isinstance(body, dict):
        raise PromptInputError("body", "must be a JSON object")
    return body


def _positive_int(field, raw):
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise PromptInputError(field, f"must be a positive integer (got {raw!r})")
    return int(raw)


def _datetime(field, raw):
    if not raw:
        return None
    try:
        # An unencoded "+01:00" offset arrives as " 01:00".
        moment = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        moment = None
    if moment is None:
        raise PromptInputError(
            field, f"must be an ISO 8601 date-time with offset (got {raw!r})"
        )
    if moment.tzinfo is None:
        raise PromptInputError(field, f"needs a UTC offset (got {raw!r})")
    return moment
