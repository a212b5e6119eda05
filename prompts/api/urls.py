"""Prompt routes of the public API.

Everything after ``v2/prompts/`` is the prompt name: 5.x sends folder names
as ``%2F`` (which WSGI decodes to ``/``) and 2.x sends them unencoded, so both
arrive as the same path. A PATCH splits on the last ``/versions/<n>``; names
may not contain such a segment, which keeps the split unambiguous.
"""

from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^v2/prompts/?$", views.prompt_collection, name="public-prompts"),
    path(
        "v2/prompts/<path:name>/versions/<int:version>",
        views.prompt_version,
        name="public-prompt-version",
    ),
    path("v2/prompts/<path:name>", views.prompt_item, name="public-prompt"),
]
