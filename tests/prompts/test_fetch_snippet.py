"""The "How to fetch" snippet on the prompt page asks for what the prompt has."""

import html

import pytest
from django.urls import reverse

from prompts.models import Label, Prompt, PromptVersion
from workbench.models import Role

pytestmark = pytest.mark.django_db


def add_prompt(project, contents, labels):
    """A text prompt with one version per content and ``{label: number}``."""
    prompt = Prompt.objects.create(project=project, name="support/reply", type="text")
    versions = {
        number: PromptVersion.objects.create(
            prompt=prompt, number=number, content=content
        )
        for number, content in enumerate(contents, start=1)
    }
    for label, number in {**labels, "latest": len(contents)}.items():
        Label.objects.create(prompt=prompt, name=label, version=versions[number])
    return prompt


def snippet(client, project, prompt):
    page = client.get(reverse("prompt-detail", args=[project.slug, prompt.name]))
    assert page.status_code == 200
    text = page.content.decode()
    start = text.index('<pre class="snippet"><code>') + len(
        '<pre class="snippet"><code>'
    )
    return html.unescape(text[start : text.index("</code></pre>", start)])


CONTENTS = ["Hi {{name}}", "Hello {{name}}, about {{topic}}", "Hey {{nick}}"]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (
            {"production": 2, "staging": 3},
            'prompt = langfuse.get_prompt("support/reply", label="production")\n'
            "compiled = prompt.compile(name=..., topic=...)\n",
        ),
        (
            {"staging": 1, "zeta": 3},
            'prompt = langfuse.get_prompt("support/reply", label="staging")\n'
            "compiled = prompt.compile(name=...)\n",
        ),
        (
            {},
            'prompt = langfuse.get_prompt("support/reply", version=3)\n'
            "compiled = prompt.compile(nick=...)\n",
        ),
    ],
    ids=["production", "first-other-label", "no-label"],
)
def test_the_snippet_names_a_label_the_prompt_has_and_that_version_s_variables(
    login_as, members, project, labels, expected
):
    prompt = add_prompt(project, CONTENTS, labels)
    client = login_as(members[Role.VIEWER])

    assert snippet(client, project, prompt) == expected


def test_a_served_version_without_variables_gets_no_compile_line(
    login_as, members, project
):
    prompt = add_prompt(project, ["Plain text", "With {{x}}"], {"production": 1})
    client = login_as(members[Role.VIEWER])

    assert snippet(client, project, prompt) == (
        'prompt = langfuse.get_prompt("support/reply", label="production")\n'
    )
