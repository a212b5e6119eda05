"""Real prompts that hold HTML and script tags render as text on every page."""

import csv
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from prompts.services import version_create
from prompts.services.comments import comment_add
from prompts.services.reviews import review_request
from workbench.models import Role

pytestmark = pytest.mark.django_db

REAL_FILE = settings.BASE_DIR.parent / "shared" / "data" / "prompts.csv"
# Rows of the public prompt collection whose text carries live-looking markup.
ACTS = {
    "seo-fundamentals": '<script type="application/ld+json">',
    "CKEditor 5 Plugin": '<div class="newsletter">',
    "Create a detailed travel itinerary in HTML format": "<html>",
}
INJECTED = "<img src=x onerror=alert(1)>"


def real_prompts():
    if not REAL_FILE.exists():
        pytest.skip(f"{REAL_FILE} is not there")
    csv.field_size_limit(sys.maxsize)
    with REAL_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["act"]: row["prompt"] for row in csv.DictReader(handle)}


@pytest.fixture
def marked_up(project, members):
    texts = real_prompts()
    prompts = []
    for index, (act, tag) in enumerate(ACTS.items()):
        assert tag in texts[act]
        name = f"html/prompt-{index}"
        version_create(
            project=project,
            name=name,
            content=texts[act],
            commit_message=f"Imported {act}",
            actor=members[Role.EDITOR],
        )
        second = version_create(
            project=project,
            name=name,
            content=texts[act] + f"\n{INJECTED}",
            commit_message=f"Adds {INJECTED}",
            actor=members[Role.EDITOR],
        )
        review_request(version=second, actor=members[Role.EDITOR])
        comment_add(
            version=second,
            actor=members[Role.REVIEWER],
            body=f"Is {tag} meant to be here?",
            line=1,
        )
        prompts.append((name, tag))
    return prompts


def pages(project, name):
    slug = project.slug
    return [
        reverse("prompt-list", args=[slug]),
        reverse("prompt-list", args=[slug]) + "?q=html",
        reverse("prompt-detail", args=[slug, name]),
        reverse("prompt-version", args=[slug, name, 1]),
        reverse("prompt-version", args=[slug, name, 2]),
        reverse("prompt-history", args=[slug, name]),
        reverse("prompt-diff", args=[slug, name]) + "?from=1&to=2",
        reverse("prompt-edit", args=[slug, name]),
        reverse("audit-log", args=[slug]),
    ]


def test_markup_in_prompt_text_comments_and_commit_messages_stays_inert(
    login_as, members, project, marked_up
):
    client = login_as(members[Role.ADMIN])

    for name, tag in marked_up:
        for url in pages(project, name):
            response = client.get(url)
            html = response.content.decode()

            assert response.status_code == 200, url
            assert tag not in html, url
            assert INJECTED not in html, url


def test_the_text_is_shown_escaped_where_it_is_read(
    login_as, members, project, marked_up
):
    client = login_as(members[Role.ADMIN])
    name, _ = marked_up[0]
    escaped = "&lt;script type=&quot;application/ld+json&quot;&gt;"

    for view, args in [
        ("prompt-version", [name, 2]),
        ("prompt-edit", [name]),
    ]:
        html = client.get(reverse(view, args=[project.slug, *args])).content.decode()
        assert escaped in html, view

    diff = client.get(
        reverse("prompt-diff", args=[project.slug, name]) + "?from=1&to=2"
    ).content.decode()
    assert "&lt;img" in diff
    assert "onerror=alert(1)&gt;" in diff
