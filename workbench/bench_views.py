"""A bare Django JSON view, served beside the prompt fetch by ``make bench``.

It answers with a body of the same shape and size as a prompt fetch but does
no authentication, cache or database work, so the benchmark's fetch/bare
ratio shows what the fetch itself costs on top of Django's request cycle.
Mounted only when ``WORKBENCH_BENCH_VIEWS=1``.
"""

from django.http import JsonResponse

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


def bare(request):
    return JsonResponse(BODY)
