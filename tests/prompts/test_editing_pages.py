"""The edit, new-prompt and live preview pages: access per role, the form,
validation that keeps the user's input, and inert prompt HTML."""

import csv
from pathlib import Path

import pytest
from django.urls import reverse

from prompts.models import Label, Prompt, PromptVersion
from prompts.services.grants import prompt_grant_set
from prompts.views.editing import PromptForm, config_text, config_value, loose_errors
from workbench.models import NamingRule, Role

pytestmark = pytest.mark.django_db

PROMPTS_CSV = Path("/work/shared/data/prompts.csv")
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
BOLD = "<b>bold</b>"
ESCAPED_BOLD = "&lt;b&gt;bold&lt;/b&gt;"
CHAT = [
    {"role": "system", "content": "You help {{customer}}."},
    {"type": "placeholder", "name": "history"},
    {"role": "user", "content": "{{question}}"},
]


def csv_prompt(act):
    """The prompt text of one row of the shared prompts CSV."""
    csv.field_size_limit(10**8)
    with PROMPTS_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["act"] == act:
                return row["prompt"]
    raise LookupError(act)


def edit_url(project, name):
    return reverse("prompt-edit", args=[project.slug, name])


def new_url(project):
    return reverse("prompt-new", args=[project.slug])


def preview_url(project):
    return reverse("prompt-preview", args=[project.slug])


def text_post(**overrides):
    data = {
        "content": "Hello {{name}}, welcome back.",
        "config_mode": "fields",
        "config-0-key": "model",
        "config-0-value": "gpt-4o-mini",
        "config-1-key": "temperature",
        "config-1-value": "0.3",
        "commit_message": "Warmer greeting",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def chat_post(**overrides):
    data = {
        "message-0-kind": "message",
        "message-0-role": "system",
        "message-0-content": "You help {{customer}} politely.",
        "message-1-kind": "placeholder",
        "message-1-name": "history",
        "message-2-kind": "message",
        "message-2-role": "user",
        "message-2-content": "{{question}}",
        "config_mode": "fields",
        "commit_message": "Politer system message",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def greeting(make_version):
    make_version(
        name="support/greeting",
        content="Hello {{name}}",
        config={"model": "gpt-4o-mini", "temperature": 0.2},
        commit_message="First",
    )
    return Prompt.objects.get(name="support/greeting")


@pytest.fixture
def chat_prompt(make_version):
    make_version(name="support/chat", content=CHAT, type="chat", commit_message="v1")
    return Prompt.objects.get(name="support/chat")


def version_count():
    return PromptVersion.objects.count()


# Access: edit


def test_it_redirects_anonymous_users_to_login(client, project, greeting):
    before = version_count()
    for response in (
        client.get(edit_url(project, greeting.name)),
        client.post(edit_url(project, greeting.name), text_post()),
        client.get(new_url(project)),
        client.post(new_url(project), text_post(name="fresh", type="text")),
        client.post(preview_url(project), {"type": "text", "content": "Hi"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert version_count() == before


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_non_members_get_404_everywhere(request, login_as, project, greeting, who):
    client = login_as(request.getfixturevalue(who))
    before = version_count()

    assert client.get(edit_url(project, greeting.name)).status_code == 404
    assert client.post(edit_url(project, greeting.name), text_post()).status_code == 404
    assert client.get(new_url(project)).status_code == 404
    response = client.post(new_url(project), text_post(name="fresh", type="text"))
    assert response.status_code == 404
    response = client.post(preview_url(project), {"type": "text", "content": "Hi"})
    assert response.status_code == 404
    assert version_count() == before
    assert not Prompt.objects.filter(name="fresh").exists()


def test_an_unknown_prompt_is_a_404_for_an_editor(login_as, project, members):
    client = login_as(members[Role.EDITOR])

    assert client.get(edit_url(project, "no/such/prompt")).status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_a_member_below_editor_cannot_edit(login_as, project, members, greeting, role):
    client = login_as(members[role])
    before = version_count()

    assert client.get(edit_url(project, greeting.name)).status_code == 403
    response = client.post(edit_url(project, greeting.name), text_post())

    assert response.status_code == 403
    assert version_count() == before
    assert greeting.versions.get().number == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_a_member_below_editor_cannot_create_prompts(login_as, project, members, role):
    client = login_as(members[role])

    assert client.get(new_url(project)).status_code == 403
    response = client.post(new_url(project), text_post(name="fresh", type="text"))

    assert response.status_code == 403
    assert not Prompt.objects.filter(name="fresh").exists()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.APPROVER, Role.ADMIN])
def test_an_editor_or_stronger_saves_the_next_version(
    login_as, project, members, greeting, role
):
    user = members[role]
    client = login_as(user)

    assert client.get(edit_url(project, greeting.name)).status_code == 200
    response = client.post(edit_url(project, greeting.name), text_post())

    version = greeting.versions.get(number=2)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "prompt-version", args=[project.slug, greeting.name, 2]
    )
    assert version.content == "Hello {{name}}, welcome back."
    assert version.config == {"model": "gpt-4o-mini", "temperature": 0.3}
    assert version.commit_message == "Warmer greeting"
    assert version.created_by == user
    assert version.created_by_name == user.username
    assert Label.objects.get(prompt=greeting, name="latest").version == version


def test_a_viewer_with_an_editor_grant_on_the_prompt_may_edit_it(
    login_as, project, members, greeting
):
    viewer = members[Role.VIEWER]
    prompt_grant_set(
        prompt=greeting, user=viewer, role=Role.EDITOR, actor=members[Role.ADMIN]
    )
    client = login_as(viewer)

    response = client.post(edit_url(project, greeting.name), text_post())

    assert response.status_code == 302
    assert greeting.versions.get(number=2).created_by == viewer


# The form


def test_the_form_starts_from_the_latest_version(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])
    client.post(edit_url(project, greeting.name), text_post(content="Second {{x}}"))

    page = client.get(edit_url(project, greeting.name)).content.decode()

    assert ">Second {{x}}</textarea>" in page
    assert 'name="base_version" value="2"' in page
    assert 'name="config-0-key" value="model"' in page
    assert 'name="config-0-value" value="gpt-4o-mini"' in page
    assert 'name="config-1-key" value="temperature"' in page
    assert 'name="config-1-value" value="0.3"' in page
    assert 'name="commit_message" value=""' in page


def test_a_chat_prompt_shows_one_row_per_message_and_keeps_placeholders(
    login_as, project, members, chat_prompt
):
    client = login_as(members[Role.EDITOR])

    page = client.get(edit_url(project, chat_prompt.name)).content.decode()

    assert 'name="message-0-kind" value="message"' in page
    assert '<option value="system" selected>' in page
    assert ">You help {{customer}}.</textarea>" in page
    assert 'name="message-1-kind" value="placeholder"' in page
    assert 'name="message-1-name" value="history"' in page
    assert ">{{question}}</textarea>" in page
    assert 'name="content"' not in page


def test_a_chat_version_is_saved_from_plain_form_fields(
    login_as, project, members, chat_prompt
):
    client = login_as(members[Role.EDITOR])

    response = client.post(edit_url(project, chat_prompt.name), chat_post())

    assert response.status_code == 302
    assert chat_prompt.versions.get(number=2).content == [
        {"role": "system", "content": "You help {{customer}} politely."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{question}}"},
    ]


def test_chat_rows_are_read_in_index_order_with_gaps(
    login_as, project, members, chat_prompt
):
    client = login_as(members[Role.EDITOR])
    data = {
        "message-7-role": "user",
        "message-7-content": "Second",
        "message-3-role": "assistant",
        "message-3-content": "First",
        "commit_message": "Reordered",
    }

    client.post(edit_url(project, chat_prompt.name), data)

    assert chat_prompt.versions.get(number=2).content == [
        {"role": "assistant", "content": "First"},
        {"role": "user", "content": "Second"},
    ]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0.2", 0.2),
        ("512", 512),
        ("true", True),
        ("gpt-4o", "gpt-4o"),
        ('"42"', "42"),
        ('["\\n\\n"]', ["\n\n"]),
        ('{"type": "json_object"}', {"type": "json_object"}),
        ("NaN", "NaN"),
        ("1e999", "1e999"),
        ("", ""),
    ],
)
def test_a_config_value_is_json_when_it_parses_else_text(typed, stored):
    assert config_value(typed) == stored


@pytest.mark.parametrize(
    "value", [0.2, 512, True, "gpt-4o", "42", "true", ["a"], {"k": 1}, None]
)
def test_a_config_value_survives_being_shown_and_saved_again(value):
    assert config_value(config_text(value)) == value


def test_raw_json_config_replaces_the_fields(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])
    data = text_post(config_mode="raw", config='{"model": "claude", "top_p": 0.9}')

    client.post(edit_url(project, greeting.name), data)

    assert greeting.versions.get(number=2).config == {"model": "claude", "top_p": 0.9}


def test_labels_ticked_in_the_form_move_to_the_new_version(
    login_as, project, members, greeting, make_version
):
    make_version(name="other", content="x", labels=["staging"])
    client = login_as(members[Role.EDITOR])

    page = client.get(edit_url(project, greeting.name)).content.decode()
    client.post(edit_url(project, greeting.name), text_post(labels=["staging"]))

    assert 'name="labels" value="staging"' in page
    assert Label.objects.get(prompt=greeting, name="staging").version.number == 2


def test_protected_labels_are_not_offered_and_are_refused(
    login_as, protected, members, greeting, make_version
):
    other = make_version(name="other", content="x", labels=["staging"])
    Label.objects.create(prompt=other.prompt, name="production", version=other)
    client = login_as(members[Role.ADMIN])

    page = client.get(edit_url(protected, greeting.name)).content.decode()
    response = client.post(
        edit_url(protected, greeting.name), text_post(labels=["production"])
    )

    assert 'value="staging"' in page
    assert 'value="production"' not in page
    assert response.status_code == 400
    assert "production is protected" in response.content.decode()
    assert greeting.versions.count() == 1


# Validation: the error is shown, the input kept, nothing created


def assert_refused(response, prompt, *, error, kept=()):
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved." in page
    assert error in page
    for text in kept:
        assert text in page
    assert prompt.versions.count() == 1


def test_a_missing_commit_message_is_refused(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, greeting.name),
        text_post(commit_message="  ", content="Kept {{text}}"),
    )

    assert_refused(
        response,
        greeting,
        error="A commit message is required",
        kept=[">Kept {{text}}</textarea>", 'name="config-1-value" value="0.3"'],
    )
    assert 'placeholder="e.g. Ask for shorter answers" aria-invalid="true"' in (
        response.content.decode()
    )


def test_bad_raw_json_config_is_refused_naming_the_config(
    login_as, project, members, greeting
):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, greeting.name),
        text_post(config_mode="raw", config='{"temperature": 0.2,'),
    )

    assert_refused(
        response,
        greeting,
        error="This is not valid JSON",
        kept=[">{&quot;temperature&quot;: 0.2,</textarea>"],
    )
    assert (
        'name="config" rows="8" class="mono" spellcheck="false" aria-invalid="true"'
        in (response.content.decode())
    )


def test_raw_config_that_is_not_an_object_is_refused(
    login_as, project, members, greeting
):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, greeting.name), text_post(config_mode="raw", config="[1]")
    )

    assert_refused(response, greeting, error="The config must be a JSON object")


def test_raw_config_alone_is_read_as_raw_json(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])
    data = {"content": "x", "commit_message": "m", "config": "{nope"}

    response = client.post(edit_url(project, greeting.name), data)

    assert_refused(response, greeting, error="This is not valid JSON")


def test_an_empty_chat_message_is_refused_next_to_its_row(
    login_as, project, members, chat_prompt
):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, chat_prompt.name), chat_post(**{"message-2-content": " "})
    )

    page = response.content.decode()
    assert_refused(
        response,
        chat_prompt,
        error="Write the message, or remove this row.",
        kept=[">You help {{customer}} politely.</textarea>"],
    )
    row_error = page.index("Write the message, or remove this row.")
    assert page.rindex('name="message-2-content"', 0, row_error) > page.rindex(
        'name="message-0-content"', 0, row_error
    )


def test_a_chat_prompt_needs_a_message(login_as, project, members, chat_prompt):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, chat_prompt.name), {"commit_message": "Emptied"}
    )

    assert_refused(response, chat_prompt, error="Add at least one message.")


def test_an_empty_text_prompt_is_refused(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])

    response = client.post(edit_url(project, greeting.name), text_post(content=""))

    assert_refused(response, greeting, error="Write the prompt text.")


def test_a_service_error_is_shown_on_its_form_field(
    login_as, project, members, chat_prompt
):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, chat_prompt.name), chat_post(**{"message-1-name": "9lives"})
    )

    page = response.content.decode()
    assert_refused(response, chat_prompt, error="a placeholder name starts with")
    assert 'name="message-1-name" value="9lives"' in page
    assert (
        'value="9lives" data-field="name" placeholder="e.g. history" '
        'aria-invalid="true"' in page
    )


def test_a_duplicate_config_setting_is_refused(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])
    data = text_post(**{"config-1-key": "model", "config-1-value": "claude"})

    response = client.post(edit_url(project, greeting.name), data)

    assert_refused(response, greeting, error="&#x27;model&#x27; is set twice.")


def test_a_save_based_on_an_older_version_is_stopped_once(
    login_as, project, members, greeting, make_version
):
    make_version(name=greeting.name, content="Someone else's", commit_message="Other")
    client = login_as(members[Role.EDITOR])
    data = text_post(base_version="1", content="Mine")

    stopped = client.post(edit_url(project, greeting.name), data)
    page = stopped.content.decode()

    assert stopped.status_code == 409
    assert "saved version 2 while you were editing version 1" in page
    assert ">Mine</textarea>" in page
    assert 'name="base_version" value="2"' in page
    assert "?from=1&amp;to=2" in page
    assert greeting.versions.count() == 2

    saved = client.post(edit_url(project, greeting.name), {**data, "base_version": "2"})

    assert saved.status_code == 302
    assert greeting.versions.get(number=3).content == "Mine"


def test_errors_about_no_field_on_the_page_go_to_the_banner():
    form = PromptForm(type="text")
    form.add_error("name", "Bad name.")
    form.add_error("content", "Write the prompt text.")
    form.add_error("message-0-content", "Write the message.")
    form.add_error("form", "Someone saved first.")

    assert loose_errors(form, creating=False) == ["Bad name.", "Someone saved first."]
    assert loose_errors(form, creating=True) == ["Someone saved first."]


def test_sample_values_survive_a_refused_save(login_as, project, members, greeting):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, greeting.name),
        {**text_post(commit_message=""), "sample:name": "Ada"},
    )

    page = response.content.decode()
    assert 'name="sample:name" value="Ada"' in page
    assert 'Hello <mark class="value">Ada</mark>, welcome back.' in page


# New prompt


def test_an_editor_creates_a_text_prompt(login_as, project, members):
    user = members[Role.EDITOR]
    client = login_as(user)

    assert client.get(new_url(project)).status_code == 200
    response = client.post(new_url(project), text_post(name="sales/pitch", type="text"))

    version = PromptVersion.objects.get(prompt__name="sales/pitch")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "prompt-version", args=[project.slug, "sales/pitch", 1]
    )
    assert version.prompt.type == "text"
    assert version.prompt.project == project
    assert version.number == 1
    assert version.content == "Hello {{name}}, welcome back."
    assert version.created_by == user
    assert version.commit_message == "Warmer greeting"


def test_an_editor_creates_a_chat_prompt(login_as, project, members):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        new_url(project), chat_post(name="sales/chat", type="chat", content="ignored")
    )

    version = PromptVersion.objects.get(prompt__name="sales/chat")
    assert response.status_code == 302
    assert version.prompt.type == "chat"
    assert version.content[1] == {"type": "placeholder", "name": "history"}


def test_a_new_prompt_may_not_take_an_existing_name(
    login_as, project, members, greeting
):
    client = login_as(members[Role.EDITOR])

    response = client.post(new_url(project), text_post(name=greeting.name, type="text"))

    assert_refused(response, greeting, error="A prompt with this name already exists")


def test_a_new_prompt_needs_a_name_and_a_type(login_as, project, members):
    client = login_as(members[Role.EDITOR])

    response = client.post(new_url(project), text_post(name="", type="essay"))

    page = response.content.decode()
    assert response.status_code == 400
    assert "Give the prompt a name." in page
    assert "Choose text or chat." in page
    assert not Prompt.objects.exists()


def test_the_naming_rule_is_shown_on_the_name_field(login_as, project, members):
    project.naming_rule = NamingRule.SERVICE_NAME_PROMPT_NAME
    project.save(update_fields=["naming_rule"])
    client = login_as(members[Role.EDITOR])

    refused = client.post(new_url(project), text_post(name="quiz maker", type="text"))
    page = refused.content.decode()

    assert refused.status_code == 400
    assert "does not follow the project&#x27;s naming rule" in page
    assert 'name="name" value="quiz maker" required' in page
    assert not Prompt.objects.exists()

    accepted = client.post(new_url(project), text_post(name="QUIZ_MAKER", type="text"))

    assert accepted.status_code == 302
    assert Prompt.objects.get().name == "QUIZ_MAKER"


# Buttons on the other prompt pages


def test_the_edit_and_new_buttons_show_only_to_editors(
    login_as, project, members, greeting
):
    detail = reverse("prompt-detail", args=[project.slug, greeting.name])
    listing = reverse("prompt-list", args=[project.slug])
    edit_link = f'href="{edit_url(project, greeting.name)}"'
    new_link = f'href="{new_url(project)}"'

    for role in Role.values:
        client = login_as(members[role])
        allowed = role not in (Role.VIEWER, Role.REVIEWER)

        assert (edit_link in client.get(detail).content.decode()) is allowed, role
        assert (new_link in client.get(listing).content.decode()) is allowed, role


def test_a_viewer_with_an_editor_grant_sees_the_edit_button(
    login_as, project, members, greeting
):
    viewer = members[Role.VIEWER]
    prompt_grant_set(
        prompt=greeting, user=viewer, role=Role.EDITOR, actor=members[Role.ADMIN]
    )
    detail = reverse("prompt-detail", args=[project.slug, greeting.name])

    page = login_as(viewer).get(detail).content.decode()

    assert f'href="{edit_url(project, greeting.name)}"' in page


# Live preview


def test_the_preview_compiles_with_sample_values_and_warns_on_missing(
    login_as, project, members
):
    client = login_as(members[Role.VIEWER])
    before = version_count()

    response = client.post(
        preview_url(project),
        {
            "type": "text",
            "content": "Hi {{ name }}, about {{topic}}.",
            "sample:name": "Ada",
            "sample:topic": "",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        'Hi <mark class="value">Ada</mark>, about '
        '<mark class="missing" title="No value">{{topic}}</mark>.' in page
    )
    assert 'No value for <code class="variable">topic</code>' in page
    assert 'No value for <code class="variable">name</code>' not in page
    assert 'name="sample:name" value="Ada"' in page
    assert 'name="sample:topic" value=""' in page
    assert version_count() == before


def test_the_preview_shows_chat_messages_and_placeholders(login_as, project, members):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        preview_url(project), {**chat_post(type="chat"), "sample:customer": "Acme"}
    )

    page = response.content.decode()
    assert 'You help <mark class="value">Acme</mark> politely.' in page
    assert "Message list <code>history</code> is inserted here." in page
    assert '<mark class="missing" title="No value">{{question}}</mark>' in page
    assert 'No value for <code class="variable">question</code>' in page


def test_the_preview_only_answers_posts(login_as, project, members):
    client = login_as(members[Role.EDITOR])

    assert client.get(preview_url(project)).status_code == 405


def test_the_edit_page_renders_the_preview_of_the_latest_version(
    login_as, project, members, greeting
):
    client = login_as(members[Role.EDITOR])

    page = client.get(edit_url(project, greeting.name)).content.decode()

    assert f'hx-post="{preview_url(project)}"' in page
    assert 'Hello <mark class="missing" title="No value">{{name}}</mark>' in page


# Prompt text is inert


@pytest.fixture
def html_prompt(make_version):
    """A prompt from the shared CSV whose text is markup, plus a script."""
    text = csv_prompt("Integrity & Compliance Officer Audit Protocol")
    make_version(
        name="audit/protocol",
        content=f"{text}\n{SCRIPT} {BOLD} {{{{name}}}}",
        config={"note": SCRIPT},
    )
    return Prompt.objects.get(name="audit/protocol")


def assert_inert(page):
    assert SCRIPT not in page
    assert BOLD not in page
    assert "<system_configuration>" not in page
    assert ESCAPED_SCRIPT in page
    assert ESCAPED_BOLD in page
    assert "&lt;system_configuration&gt;" in page


def test_prompt_html_is_escaped_on_the_edit_page(
    login_as, project, members, html_prompt
):
    client = login_as(members[Role.EDITOR])

    response = client.get(edit_url(project, html_prompt.name))

    assert response.status_code == 200
    assert_inert(response.content.decode())


def test_prompt_html_is_escaped_in_the_preview(login_as, project, members):
    client = login_as(members[Role.EDITOR])
    text = csv_prompt("Integrity & Compliance Officer Audit Protocol")

    response = client.post(
        preview_url(project),
        {
            "type": "text",
            "content": f"{text}\n{SCRIPT} {BOLD} {{{{name}}}}",
            "sample:name": BOLD,
        },
    )

    page = response.content.decode()
    assert_inert(page)
    assert f'<mark class="value">{ESCAPED_BOLD}</mark>' in page


def test_prompt_html_stays_escaped_when_a_refused_form_comes_back(
    login_as, project, members, greeting
):
    client = login_as(members[Role.EDITOR])

    response = client.post(
        edit_url(project, greeting.name),
        text_post(content=f"{SCRIPT} {BOLD}", commit_message=""),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert SCRIPT not in page
    assert f">{ESCAPED_SCRIPT} {ESCAPED_BOLD}</textarea>" in page
