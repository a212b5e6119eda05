"""The prompt pages: list, detail, one version; access per role and tenant."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prompts.models import Label, LabelMove, Prompt, PromptVersion
from tracing.models import Observation
from workbench.models import Role

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def add_prompt(project, name, *versions, type="text", tags=(), labels=None):
    """A prompt with ``versions`` (contents, oldest first) and ``labels``.

    ``labels`` maps a label name to a version number; ``latest`` is added on
    the newest version as the registry does.
    """
    prompt = Prompt.objects.create(
        project=project, name=name, type=type, tags=list(tags)
    )
    made = {}
    for number, content in enumerate(versions, start=1):
        made[number] = PromptVersion.objects.create(
            prompt=prompt,
            number=number,
            content=content,
            config={"model": "gpt-4o-mini", "temperature": 0.2},
            commit_message=f"Change {number}",
            created_by_name="api-bot",
        )
    labels = {**(labels or {}), "latest": len(versions)}
    for label, number in labels.items():
        Label.objects.create(prompt=prompt, name=label, version=made[number])
    return prompt


@pytest.fixture
def quiz(project):
    return add_prompt(
        project,
        "quiz/generator",
        "Write {{count}} questions about {{topic}}.",
        "Write {{ count }} hard questions about {{topic}} for {{audience}}.",
        "Write {{count}} questions on {{topic}}.",
        tags=["quiz", "edu"],
        labels={"production": 2, "staging": 3},
    )


def prompt_url(project, name, number=None):
    if number is None:
        return reverse("prompt-detail", args=[project.slug, name])
    return reverse("prompt-version", args=[project.slug, name, number])


def page_urls(project, prompt):
    return [
        reverse("prompt-list", args=[project.slug]),
        prompt_url(project, prompt.name),
        prompt_url(project, prompt.name, 1),
    ]


# Access


def test_it_redirects_anonymous_users_to_login(client, project, quiz):
    for url in page_urls(project, quiz):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_hides_the_pages_from_outsiders(login_as, outsider, project, quiz):
    client = login_as(outsider)
    for url in page_urls(project, quiz):
        assert client.get(url).status_code == 404


def test_it_hides_the_pages_from_members_of_another_project(
    login_as, other_member, project, quiz
):
    client = login_as(other_member)
    for url in page_urls(project, quiz):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", Role.values)
def test_every_role_can_read_the_pages(login_as, members, project, quiz, role):
    client = login_as(members[role])
    for url in page_urls(project, quiz):
        response = client.get(url)

        assert response.status_code == 200, url
        # The list shows the folder "quiz/", the other pages the full name.
        assert b"quiz/" in response.content


def test_it_does_not_show_another_projects_prompt_of_the_same_name(
    login_as, members, project, other_project
):
    add_prompt(project, "acme/plan", "Acme only")
    add_prompt(other_project, "globex/plan", "Globex only {{x}}")
    client = login_as(members[Role.ADMIN])

    listing = client.get(reverse("prompt-list", args=[project.slug]))
    detail = client.get(prompt_url(project, "globex/plan"))
    version = client.get(prompt_url(project, "globex/plan", 1))

    assert b"acme/" in listing.content
    assert b"globex" not in listing.content
    assert detail.status_code == 404
    assert version.status_code == 404


def test_it_shows_each_project_its_own_prompt_under_a_shared_name(
    login_as, members, other_member, project, other_project
):
    add_prompt(project, "greeting", "Acme says hi")
    add_prompt(other_project, "greeting", "Globex says hi")

    acme = login_as(members[Role.VIEWER]).get(prompt_url(project, "greeting", 1))

    assert b"Acme says hi" in acme.content
    assert b"Globex says hi" not in acme.content


# The list


def test_the_list_shows_labels_with_their_versions_and_counts(
    login_as, members, project, quiz
):
    add_prompt(project, "support/reply", "Hi", type="chat")
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("prompt-list", args=[project.slug]), {"q": "quiz"})

    html = response.content.decode()
    assert "quiz/generator" in html
    assert "support/reply" not in html
    assert "production <b>v2</b>" in html
    assert "staging <b>v3</b>" in html
    assert "latest <b>v3</b>" in html
    assert '<td class="num">3</td>' in html
    assert '<span class="tag">edu</span>' in html


def test_the_list_groups_prompts_by_folder(login_as, members, project, quiz):
    add_prompt(project, "top-level", "x")
    add_prompt(project, "quiz/deep/nested", "y")
    client = login_as(members[Role.VIEWER])
    url = reverse("prompt-list", args=[project.slug])

    root = client.get(url).content.decode()
    folder = client.get(url, {"folder": "quiz"}).content.decode()

    assert "top-level" in root
    assert "?folder=quiz" in root
    assert "2 prompts" in root
    assert "quiz/generator" not in root
    assert "quiz/generator" in folder
    assert "top-level" not in folder
    assert "?folder=quiz/deep" in folder
    assert '<span class="current">quiz</span>' in folder


def test_the_list_can_show_every_prompt_without_folders(
    login_as, members, project, quiz
):
    add_prompt(project, "top-level", "x")
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("prompt-list", args=[project.slug]), {"flat": "1"})

    assert [prompt.name for prompt in response.context["prompts"]] == [
        "quiz/generator",
        "top-level",
    ]
    assert response.context["folders"] == []


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"type": "chat"}, "support/reply", "quiz/generator"),
        ({"tag": "edu"}, "quiz/generator", "support/reply"),
        ({"label": "staging"}, "quiz/generator", "support/reply"),
    ],
)
def test_the_list_filters_by_type_tag_and_label(
    login_as, members, project, quiz, query, shown, hidden
):
    add_prompt(project, "support/reply", "Hi", type="chat", tags=["support"])
    client = login_as(members[Role.VIEWER])

    html = client.get(reverse("prompt-list", args=[project.slug]), query).content

    assert shown.encode() in html
    assert hidden.encode() not in html


def test_an_empty_project_explains_how_to_create_a_prompt(login_as, members, project):
    response = login_as(members[Role.VIEWER]).get(
        reverse("prompt-list", args=[project.slug])
    )

    html = response.content.decode()
    assert "No prompts yet" in html
    assert "langfuse.create_prompt(" in html
    assert 'host="http://testserver"' in html
    assert "http://testserver/api/public/v2/prompts" in html


def test_the_list_needs_a_bounded_number_of_queries(
    login_as, members, project, django_assert_max_num_queries
):
    for index in range(30):
        add_prompt(project, f"bulk/p{index:02d}", "a", "b", labels={"production": 1})
    client = login_as(members[Role.VIEWER])

    with django_assert_max_num_queries(10):
        response = client.get(
            reverse("prompt-list", args=[project.slug]), {"folder": "bulk"}
        )

    assert response.content.decode().count("production <b>v1</b>") == 30


# The detail page


def test_the_detail_shows_versions_labels_and_deployment_history(
    login_as, members, project, quiz
):
    LabelMove.objects.create(
        prompt=quiz,
        label="production",
        from_version=1,
        to_version=2,
        moved_by_name="ana",
    )
    client = login_as(members[Role.REVIEWER])

    html = client.get(prompt_url(project, quiz.name)).content.decode()

    assert "version 2</a>" in html
    assert "Change 3" in html
    assert "api-bot" in html
    assert (
        'v1 <span aria-hidden="true">→</span><span class="sr-only">to</span> v2' in html
    )
    assert "ana" in html
    assert 'langfuse.get_prompt(&quot;quiz/generator&quot;, label="production")' in html
    # Variables of the newest version (v3), not of the production one.
    assert (
        '<code class="variable">count</code> <code class="variable">topic</code>'
        in html
    )
    assert '<code class="variable">audience</code>' not in html


def test_the_detail_counts_and_links_the_calls_of_the_prompt(
    login_as, members, project, other_project, quiz
):
    version = quiz.versions.get(number=2)
    now = timezone.now()
    for index, trace_id in enumerate(["t1", "t1", "t2"]):
        Observation.objects.create(
            project=project,
            observation_id=f"o{index}",
            trace_id=trace_id,
            start_time=now,
            type="GENERATION",
            prompt_version=version,
            prompt_name=quiz.name,
            prompt_version_number=2,
        )
    # Linked by name and number only (the FK was not resolved at ingestion).
    Observation.objects.create(
        project=project,
        observation_id="o-name",
        trace_id="t3",
        start_time=now,
        prompt_name=quiz.name,
        prompt_version_number=1,
    )
    # Another tenant's call with the same prompt name does not count.
    Observation.objects.create(
        project=other_project,
        observation_id="x",
        trace_id="t9",
        start_time=now,
        prompt_name=quiz.name,
        prompt_version_number=1,
    )
    client = login_as(members[Role.VIEWER])

    html = client.get(prompt_url(project, quiz.name)).content.decode()

    assert "4 calls in 3 traces" in html
    assert '?prompt=quiz/generator&amp;version=2">3</a>' in html
    assert '?prompt=quiz/generator&amp;version=1">1</a>' in html


@pytest.mark.parametrize(
    "name", ["with space", "ünïcødé/名前", "a/b/c", "odd?#%&name", "ends/v/2x"]
)
def test_names_with_any_characters_reach_their_pages(login_as, members, project, name):
    add_prompt(project, name, "Hello {{who}}")
    client = login_as(members[Role.VIEWER])

    detail = client.get(prompt_url(project, name))
    version = client.get(prompt_url(project, name, 1))

    assert detail.status_code == 200
    assert detail.context["prompt"].name == name
    assert version.status_code == 200
    assert version.context["version"].number == 1


def test_a_prompt_named_like_a_version_url_reaches_its_own_page(
    login_as, members, project
):
    # "release" has no version 2, so ".../release/v/2/" is the prompt's page.
    add_prompt(project, "release", "one")
    add_prompt(project, "release/v/2", "I am a prompt")
    client = login_as(members[Role.VIEWER])

    version = client.get(prompt_url(project, "release", 1))
    detail = client.get(prompt_url(project, "release/v/2"))
    missing = client.get(prompt_url(project, "release", 3))

    assert version.context["version"].content == "one"
    assert missing.status_code == 404
    assert detail.context["prompt"].name == "release/v/2"
    assert "versions" in detail.context


def test_the_detail_needs_a_bounded_number_of_queries(
    login_as, members, project, django_assert_max_num_queries
):
    contents = [f"v{number} {{{{x}}}}" for number in range(1, 31)]
    prompt = add_prompt(project, "many", *contents, labels={"production": 3})
    for number in range(1, 31):
        LabelMove.objects.create(
            prompt=prompt,
            label="staging",
            from_version=number,
            to_version=number + 1,
            moved_by_name="ana",
        )
    client = login_as(members[Role.VIEWER])

    # The same ceiling with 1 version or 30: the role check (grants on the
    # prompt and its folders) and the comment counts are one query each.
    with django_assert_max_num_queries(13):
        response = client.get(prompt_url(project, "many"))

    assert len(response.context["versions"]) == 30
    assert response.content.decode().count("<td>ana</td>") == 30


def test_unknown_prompts_and_versions_are_404(login_as, members, project, quiz):
    client = login_as(members[Role.VIEWER])

    assert client.get(prompt_url(project, "quiz/missing")).status_code == 404
    assert client.get(prompt_url(project, quiz.name, 9)).status_code == 404


# One version


def test_a_text_version_highlights_its_variables(login_as, members, project, quiz):
    client = login_as(members[Role.VIEWER])

    response = client.get(prompt_url(project, quiz.name, 2))

    html = response.content.decode()
    assert (
        'Write <mark class="variable">{{ count }}</mark> hard questions about '
        '<mark class="variable">{{topic}}</mark>' in html
    )
    assert "Change 2" in html
    assert '<span class="label label-production">production</span>' in html
    assert "&quot;temperature&quot;: 0.2" in html
    assert prompt_url(project, quiz.name, 1) in html
    assert prompt_url(project, quiz.name, 3) in html


def test_the_first_and_last_versions_have_one_neighbour(
    login_as, members, project, quiz
):
    client = login_as(members[Role.VIEWER])

    first = client.get(prompt_url(project, quiz.name, 1))
    last = client.get(prompt_url(project, quiz.name, 3))

    assert (first.context["previous_number"], first.context["next_number"]) == (None, 2)
    assert (last.context["previous_number"], last.context["next_number"]) == (2, None)


def test_a_chat_version_shows_roles_and_placeholders(login_as, members, project):
    add_prompt(
        project,
        "interview/chat",
        [
            {"role": "system", "content": "You interview for {{role}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "Ask one question."},
        ],
        type="chat",
    )
    client = login_as(members[Role.VIEWER])

    html = client.get(prompt_url(project, "interview/chat", 1)).content.decode()

    assert '<li class="chat-row role-system"><span class="role">system</span>' in html
    assert 'You interview for <mark class="variable">{{role}}</mark>.' in html
    assert "Message list <code>history</code> is inserted here" in html
    assert html.index("role-system") < html.index("history") < html.index("role-user")


def test_prompt_text_and_names_are_escaped(login_as, members, project):
    add_prompt(
        project,
        f"x{SCRIPT}",
        f"{SCRIPT} {{{{v{SCRIPT}}}}}",
        tags=[SCRIPT],
        labels={},
    )
    PromptVersion.objects.filter(prompt__name=f"x{SCRIPT}").update(
        commit_message=SCRIPT, config={"note": SCRIPT}
    )
    add_prompt(
        project,
        "chatty",
        [{"role": SCRIPT, "content": SCRIPT}],
        type="chat",
    )
    client = login_as(members[Role.VIEWER])
    name = f"x{SCRIPT}"

    pages = [
        client.get(reverse("prompt-list", args=[project.slug])),
        client.get(prompt_url(project, name)),
        client.get(prompt_url(project, name, 1)),
        client.get(prompt_url(project, "chatty", 1)),
    ]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert SCRIPT not in html
        assert ESCAPED_SCRIPT in html
    assert (
        f'<mark class="variable">{{{{v{ESCAPED_SCRIPT}}}}}</mark>'
        in pages[2].content.decode()
    )


def test_the_list_shows_the_newest_change_time(login_as, members, project, quiz):
    old = timezone.now() - timedelta(days=3)
    Prompt.objects.filter(pk=quiz.pk).update(updated_at=old)
    PromptVersion.objects.filter(prompt=quiz).update(created_at=old)
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("prompt-list", args=[project.slug]), {"q": "quiz"})

    assert response.context["prompts"][0].last_updated == old
    assert "3\xa0days ago" in response.content.decode()
