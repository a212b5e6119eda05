"""When an htmx request fails, the page says so and keeps what was typed: an
ended session (no login page swapped into a panel), a server error, a lost
connection. A posted form is sent once however often its button is clicked."""

import time

import pytest
from playwright.sync_api import expect

from prompts import services
from prompts.models import Comment, PromptVersion
from prompts.services.reviews import review_request
from tests.conftest import make_member
from workbench.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "support/greeting"
DRAFT = "Line 2 could be kinder to people who write in anger."
SESSION_ENDED = "Your session has ended: log in again (your text is kept in this page)"


@pytest.fixture
def version(project):
    users = {
        role: make_member(project, role, username=role)
        for role in (Role.EDITOR, Role.REVIEWER, Role.APPROVER)
    }
    version = services.version_create(
        project=project,
        name=NAME,
        content="Hello {{name}}.\nHow can we help?",
        commit_message="First greeting",
        actor=users[Role.EDITOR],
    )
    review_request(version=version, actor=users[Role.EDITOR])
    return version


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def open_version(page, base, project):
    page.goto(f"{base}/p/{project.slug}/prompts/{NAME}/v/1/")
    page.wait_for_selector("#review-panel")


def general_comment_box(page):
    return page.get_by_label("Comment on this version")


def test_an_ended_session_keeps_the_comment_and_it_posts_after_logging_in(
    live_server, page, shot, project, version
):
    base = live_server.url
    log_in(page, base, "reviewer")
    open_version(page, base, project)
    general_comment_box(page).fill(DRAFT)

    page.context.clear_cookies(name="sessionid")
    page.get_by_role("button", name="Comment", exact=True).click()

    flash = page.locator("#htmx-flash")
    expect(flash).to_be_visible()
    expect(flash).to_contain_text(SESSION_ENDED)
    shot("htmx-session-ended")
    assert general_comment_box(page).input_value() == DRAFT
    assert page.locator("main input[name=username]").count() == 0
    link = flash.get_by_role("link", name="Log in (opens a new tab)")
    assert link.get_attribute("target") == "_blank"
    assert not Comment.objects.exists()

    # Log in again in another tab (a new CSRF token comes with the session),
    # then send the kept comment from the first tab.
    with page.context.expect_page() as opened:
        link.click()
    login_tab = opened.value
    login_tab.get_by_label("User name").fill("reviewer")
    login_tab.get_by_label("Password").fill("pw")
    login_tab.get_by_role("button", name="Log in").click()
    login_tab.wait_for_url(f"**/prompts/{NAME}/v/1/")
    login_tab.close()
    page.get_by_role("button", name="Comment", exact=True).click()

    expect(page.locator("#general-comments")).to_contain_text(DRAFT)
    expect(flash).to_be_hidden()
    assert Comment.objects.get().body == DRAFT


def test_a_server_error_shows_a_banner_and_keeps_the_text(
    live_server, page, shot, project, version
):
    base = live_server.url
    log_in(page, base, "approver")
    open_version(page, base, project)
    page.route(
        "**/review/decide/",
        lambda route: route.fulfill(status=500, body="<h1>Server Error (500)</h1>"),
    )
    page.get_by_label("Your review").fill("Reads well.")

    page.get_by_role("button", name="Approve", exact=True).click()

    flash = page.locator("#htmx-flash")
    expect(flash).to_contain_text(
        "“Approve” failed: the server had an error (500). "
        "Your text is kept in this page."
    )
    shot("htmx-server-error")
    assert page.get_by_label("Your review").input_value() == "Reads well."
    expect(page.locator("#review-panel h2")).to_have_text("Review")

    flash.get_by_role("button", name="Dismiss").click()
    expect(flash).to_be_hidden()


def test_a_lost_connection_shows_a_banner(live_server, page, project, version):
    base = live_server.url
    log_in(page, base, "reviewer")
    open_version(page, base, project)
    page.route("**/comments/", lambda route: route.abort("internetdisconnected"))
    general_comment_box(page).fill(DRAFT)

    page.get_by_role("button", name="Comment", exact=True).click()

    expect(page.locator("#htmx-flash")).to_contain_text(
        "“Comment” failed: the server could not be reached."
    )
    assert general_comment_box(page).input_value() == DRAFT


def test_the_refusals_review_js_shows_in_place_raise_no_banner(
    live_server, page, project, version
):
    base = live_server.url
    log_in(page, base, "reviewer")
    open_version(page, base, project)

    # A blank comment is refused (400) with a fragment that says how to swap.
    general_comment_box(page).fill("   ")
    page.get_by_role("button", name="Comment", exact=True).click()

    expect(page.locator("#general-comments .form-error")).to_be_visible()
    expect(page.locator("#htmx-flash")).to_be_hidden()


def test_save_new_version_sends_the_form_once(live_server, page, project, version):
    base = live_server.url
    log_in(page, base, "editor")
    page.goto(f"{base}/p/{project.slug}/edit/{NAME}/")
    page.get_by_label("Prompt text").fill("Hello {{name}}.\nHow may we help?")
    page.get_by_label("What did you change, and why?").fill("Politer")
    posts = []
    page.on(
        "request",
        lambda request: posts.append(request.url) if request.method == "POST" else None,
    )

    def slow_save(route):
        # A slow server: the page is still there when the second click comes.
        if route.request.method == "POST":
            time.sleep(0.5)
        route.continue_()

    page.route(f"**/edit/{NAME}/", slow_save)

    page.evaluate(
        "const save = document.querySelector('form.prompt-editor [type=submit]');"
        "save.click(); setTimeout(() => save.click(), 150);"
    )

    page.wait_for_url(f"**/prompts/{NAME}/v/2/")
    assert [url for url in posts if "/edit/" in url] == [
        f"{base}/p/{project.slug}/edit/{NAME}/"
    ]
    assert PromptVersion.objects.filter(prompt=version.prompt).count() == 2
