"""Views that ``make bench`` serves beside the prompt fetch, for comparison.

Mounted under ``bench/`` only when ``WORKBENCH_BENCH_VIEWS=1``.

- ``bare``: a plain Django JsonResponse of the same shape and size as a
  prompt fetch, with no authentication, cache or database work, so the
  fetch/bare ratio shows what the fetch costs on top of Django's cycle.
- ``fetch-one-trip`` and ``fetch-in-process``: experiments that serve the
  same prompt fetch with one cache round trip (the key record and both prompt
  cache entries in one MGET) and with none (key and body held in the worker).
  They measure what the fetch could gain; they are not the product's fetch,
  and the in-process one has no invalidation at all.
"""

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.urls import path

from workbench.auth import (
    ApiKeyError,
    _cache_key,
    authenticate_api_key,
    parse_basic_credentials,
)
from workbench.models import hash_secret

try:
    from prompts.api import views as prompt_views
    from prompts.cache import BY_LABEL, entry_key, generation_key
except ImportError:  # the registry changed shape: the bare view still serves
    prompt_views = None

# About 2 KB of prompt text, like the benchmark's prompt.
_PROMPT_TEXT = (
    "You are an interviewer for the {{role}} position. Ask one question at a "
    "time about {{focus_area}} and wait for the answer. "
) * 18

BODY = {
    "id": "00000000-0000-0000-0000-000000000000",
    "createdAt": "2026-01-01T00:00:00.000Z",
    "updatedAt": "2026-01-01T00:00:00.000Z",
    "projectId": "00000000-0000-0000-0000-000000000000",
    "createdBy": "API",
    "version": 1,
    "name": "bench/interview-question",
    "labels": ["production", "latest"],
    "tags": ["bench"],
    "type": "text",
    "prompt": _PROMPT_TEXT,
    "config": {"model": "gpt-4o-mini", "temperature": 0.2},
    "commitMessage": None,
    "resolutionGraph": None,
}

# public key -> project id, learnt once per worker (a key never changes project).
_KEY_PROJECTS = {}
# (public key, secret hash, name, label) -> (body, etag), never invalidated.
_LOCAL_FETCHES = {}


def bare(request):
    return JsonResponse(BODY)


def _unauthorized(error):
    return JsonResponse({"message": str(error), "error": "Unauthorized"}, status=401)


def _served(body, etag):
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    return response


def fetch_one_trip(request, name):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    label = request.GET.get("label") or "production"
    try:
        public_key, secret = parse_basic_credentials(header)
        project_id = _KEY_PROJECTS.get(public_key)
        if project_id is None:
            project_id = authenticate_api_key(header).project_id
            _KEY_PROJECTS[public_key] = project_id
    except ApiKeyError as error:
        return _unauthorized(error)
    keys = [
        _cache_key(public_key),
        generation_key(project_id, name),
        entry_key(project_id, name, BY_LABEL, label),
    ]
    found = cache.get_many(keys)
    record = found.get(keys[0])
    if record is not None and (not record or record[2] != hash_secret(secret)):
        return _unauthorized("Invalid credentials")
    entry, generation = found.get(keys[2]), found.get(keys[1])
    if record and entry and generation and entry[0] == generation and entry[1]:
        return _served(entry[1], entry[2])
    return prompt_views.prompt_item(request, name=name)


def fetch_in_process(request, name):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    label = request.GET.get("label") or "production"
    try:
        public_key, secret = parse_basic_credentials(header)
    except ApiKeyError as error:
        return _unauthorized(error)
    local_key = (public_key, hash_secret(secret), name, label)
    served = _LOCAL_FETCHES.get(local_key)
    if served is not None:
        return _served(*served)
    response = prompt_views.prompt_item(request, name=name)
    if response.status_code == 200:
        _LOCAL_FETCHES[local_key] = (response.content, response["ETag"])
    return response


urlpatterns = [path("bare", bare)]
if prompt_views is not None:
    urlpatterns += [
        path("fetch-one-trip/<path:name>", fetch_one_trip),
        path("fetch-in-process/<path:name>", fetch_in_process),
    ]
