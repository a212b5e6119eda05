"""Names that URLs cannot carry: refused on create, harmless if already stored."""

import json

import pytest
from django.urls import reverse

from prompts.models import Label, Prompt, PromptVersion
from workbench.models import Role

pytestmark = pytest.mark.django_db

BASE = "/api/public/v2/prompts"


def post(api, body):
    return api.post(BASE, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a\nb", "must not contain control characters (found '\\n')"),
        ("tab\tname", "must not contain control characters (found '\\t')"),
        ("nul\x00", "must not contain control characters (found '\\x00')"),
        ("a/../b", "must not have a '.' or '..' folder segment (as in 'a/../b')"),
        ("./x", "must not have a '.' or '..' folder segment (as in 'a/../b')"),
    ],
)
def test_the_api_refuses_a_name_no_page_could_link_to(api, name, reason):
    response = post(api, {"name": name, "prompt": "x"})

    assert response.status_code == 400, response.content
    assert response.json()["message"] == f"name: {reason}"
    assert Prompt.objects.count() == 0


def test_a_stored_name_that_cannot_be_linked_does_not_break_the_list(
    login_as, members, project
):
    # Stored before names were checked: the row shows, without a link.
    odd = Prompt.objects.create(project=project, name="a\nb", type="text")
    version = PromptVersion.objects.create(prompt=odd, number=1, content="x")
    Label.objects.create(prompt=odd, name="latest", version=version)
    fine = Prompt.objects.create(project=project, name="fine", type="text")
    version = PromptVersion.objects.create(prompt=fine, number=1, content="y")
    Label.objects.create(prompt=fine, name="latest", version=version)
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("prompt-list", args=[project.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="prompt-name">a\nb</span>' in html
    fine_url = reverse("prompt-detail", args=[project.slug, "fine"])
    assert f'<a class="prompt-name" href="{fine_url}">fine</a>' in html
