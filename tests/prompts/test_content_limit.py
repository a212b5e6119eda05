"""A version's content has a size limit: text, or the chat messages together."""

import json

import pytest
from django.urls import reverse

from prompts import services
from prompts.errors import PromptInputError
from prompts.models import PromptVersion
from workbench.models import Role

pytestmark = pytest.mark.django_db

LIMIT = 262_144
PUBLIC = "/api/public/v2/prompts"


def create(api, body):
    return api.post(PUBLIC, data=json.dumps(body), content_type="application/json")


def test_the_limit_is_a_quarter_of_a_million_characters():
    assert services.CONTENT_MAX_LENGTH == LIMIT


def test_a_text_prompt_of_exactly_the_limit_is_stored(api):
    response = create(api, {"name": "big", "type": "text", "prompt": "x" * LIMIT})

    assert response.status_code == 201
    assert len(PromptVersion.objects.get(prompt__name="big").content) == LIMIT


def test_a_text_prompt_over_the_limit_is_a_400_naming_the_limit_and_the_size(api):
    response = create(api, {"name": "big", "type": "text", "prompt": "x" * (LIMIT + 1)})

    assert response.status_code == 400
    message = response.json()["message"]
    assert "prompt" in message
    assert "262,144" in message
    assert "262,145" in message
    assert not PromptVersion.objects.exists()


def test_chat_messages_count_together(project, api):
    half = "y" * (LIMIT // 2)
    messages = [
        {"role": "system", "content": half},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": half + "z"},
    ]

    response = create(api, {"name": "chat", "type": "chat", "prompt": messages})

    assert response.status_code == 400
    assert "262,145" in response.json()["message"]
    assert not PromptVersion.objects.exists()
    messages[2]["content"] = half
    assert create(api, {"name": "chat", "prompt": messages}).status_code == 201


def test_the_service_names_the_prompt_field(project):
    with pytest.raises(PromptInputError) as refused:
        services.version_create(project=project, name="big", content="é" * (LIMIT + 10))

    assert refused.value.field == "prompt"
    assert refused.value.reason == (
        "must be at most 262,144 characters in total (got 262,154)"
    )


def test_the_native_api_refuses_it_too(login_as, members, project):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        f"/api/v1/projects/{project.slug}/prompts/",
        data=json.dumps(
            {"name": "big", "prompt": "x" * (LIMIT + 1), "commitMessage": "big"}
        ),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "262,144" in response.json()["message"]
    assert not PromptVersion.objects.exists()


def test_the_edit_page_shows_the_limit_beside_the_text(login_as, members, project):
    version = services.version_create(project=project, name="p", content="short")
    client = login_as(members[Role.EDITOR])

    response = client.post(
        reverse("prompt-edit", args=[project.slug, "p"]),
        {
            "content": "x" * (LIMIT + 1),
            "commit_message": "Paste the handbook",
            "base_version": "1",
        },
    )

    assert response.status_code == 400
    assert "262,144" in response.context["form"].errors["content"]
    assert list(version.prompt.versions.values_list("number", flat=True)) == [1]
