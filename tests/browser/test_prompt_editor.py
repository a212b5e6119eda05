"""The prompt editor in Chromium: chat rows, live preview, config modes, diff."""

import pytest

from prompts import services
from prompts.models import Prompt
from tests.conftest import make_member
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHAT = [
    {"role": "system", "content": "You interview a {{seniority}} engineer."},
    {"type": "placeholder", "name": "history"},
    {"role": "user", "content": "Ask the next question. <b>no HTML</b>"},
]


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_an_editor_edits_a_chat_prompt_with_rows_and_preview(
    live_server, page, shot, project
):
    services.version_create(
        project=project,
        name="interview/QUESTIONS",
        type="chat",
        content=CHAT,
        config={"model": "gpt-4o-mini", "temperature": 0.3},
        commit_message="First",
    )
    editor = make_member(project, Role.EDITOR, username="edna")
    base = live_server.url
    log_in(page, base, "edna")

    page.goto(f"{base}/p/{project.slug}/prompts/interview/QUESTIONS/")
    page.click("a.button:text('Edit')")
    page.wait_for_selector("[data-prompt-editor]")
    rows = page.locator("[data-row-list=message] > [data-row]")
    assert rows.count() == 3
    assert "No value for seniority" in page.inner_text("#preview")
    shot("10-editor-chat")

    # A sample value fills the preview in place, and the input keeps focus.
    page.fill("#preview input[name='sample:seniority']", "senior")
    page.wait_for_selector("#preview mark.value:text('senior')")
    focused = page.evaluate("document.activeElement.name")
    assert focused == "sample:seniority"
    assert "<b>no HTML</b>" in page.inner_text("#preview .preview-output")

    # Add a message, move it above the placeholder, remove the last one.
    page.click("button:text('Add message')")
    assert rows.count() == 4
    page.locator("[data-row-list=message] > [data-row]").nth(3).locator(
        "textarea"
    ).fill("Thanks, {{name}}.")
    page.wait_for_selector("#preview input[name='sample:name']")
    page.locator("[data-row-list=message] > [data-row]").nth(3).locator(
        "[data-row-action=up]"
    ).click()
    page.locator("[data-row-list=message] > [data-row]").nth(2).locator(
        "[data-row-action=up]"
    ).click()
    page.locator("[data-row-list=message] > [data-row]").nth(3).locator(
        "[data-row-action=remove]"
    ).click()
    assert rows.count() == 3
    names = page.eval_on_selector_all(
        "[data-row-list=message] [data-field]", "els => els.map(e => e.name)"
    )
    assert names == [
        "message-0-kind",
        "message-0-role",
        "message-0-content",
        "message-1-kind",
        "message-1-role",
        "message-1-content",
        "message-2-kind",
        "message-2-name",
    ]

    # Switch the config to raw JSON and back: the values travel along.
    page.check("[data-config-mode][value=raw]")
    raw = page.input_value("textarea[name=config]")
    assert '"temperature": 0.3' in raw
    page.fill("textarea[name=config]", '{"model": "claude", "top_p": 0.9}')
    page.check("[data-config-mode][value=fields]")
    assert page.input_value("input[name='config-1-key']") == "top_p"
    assert page.input_value("input[name='config-1-value']") == "0.9"
    shot("11-editor-changed")

    page.click("button:text('Save new version')")
    page.wait_for_selector(".form-errors")
    assert "A commit message is required" in page.inner_text(
        "#commit-message + .field-error"
    )
    shot("12-editor-error")
    page.fill("input[name=commit_message]", "Thank the candidate")
    page.click("button:text('Save new version')")
    page.wait_for_url(f"{base}/p/{project.slug}/prompts/interview/QUESTIONS/v/2/")

    version = Prompt.objects.get(name="interview/QUESTIONS").versions.get(number=2)
    assert version.created_by == editor
    assert version.config == {"model": "claude", "top_p": 0.9}
    assert version.content == [
        {"role": "system", "content": "You interview a {{seniority}} engineer."},
        {"role": "user", "content": "Thanks, {{name}}."},
        {"type": "placeholder", "name": "history"},
    ]

    page.click("text=Compare with previous")
    page.wait_for_selector("table.diff")
    assert page.locator(".diff-message").count() == 3
    shot("13-diff-chat")


def test_an_editor_creates_a_text_prompt(live_server, page, shot, project):
    make_member(project, Role.EDITOR, username="edna")
    base = live_server.url
    log_in(page, base, "edna")

    page.goto(f"{base}/p/{project.slug}/prompts/")
    page.click("a.button:text('New prompt')")
    page.wait_for_selector("[data-prompt-editor]")
    assert page.is_hidden("[data-type-section=chat]")
    page.check("input[name=type][value=chat]")
    assert page.is_visible("[data-type-section=chat]")
    page.check("input[name=type][value=text]")
    page.fill("input[name=name]", "support/greeting")
    page.fill("textarea[name=content]", "Hello {{customer}} <script>x</script>")
    page.wait_for_selector("#preview mark.missing")
    assert "<script>x</script>" in page.inner_text("#preview .preview-output")
    page.fill("input[name=commit_message]", "First greeting")
    shot("14-new-prompt")
    page.click("button:text('Create prompt')")
    page.wait_for_url(f"{base}/p/{project.slug}/prompts/support/greeting/v/1/")

    prompt = Prompt.objects.get(name="support/greeting")
    assert prompt.versions.get().content == "Hello {{customer}} <script>x</script>"
