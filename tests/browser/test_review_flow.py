"""The review flow in Chromium: request, comment on a line, request changes,
edit, approve, move the protected label and roll it back, with the public
API serving whatever the label points at after each step."""

import base64
import json
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest

from prompts import services
from prompts.models import Comment, Prompt
from prompts.services.reviews import review_decide, review_request
from tests.conftest import make_member
from workbench.models import ApiKey, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "hr/screening-questions"
V1_TEXT = (
    "You screen candidates for the {{role}} role.\n"
    "Ask: you are a great fit for this team, aren't you?\n"
    "Keep each question under 25 words."
)
V2_TEXT = (
    "You screen candidates for the {{role}} role.\n"
    "Ask: you would enjoy working here, wouldn't you?\n"
    "Keep each question under 25 words.\n"
    "Never ask about age or family."
)
V3_TEXT = (
    "You screen candidates for the {{role}} role.\n"
    "Ask: what kind of work do you enjoy most, and why?\n"
    "Keep each question under 25 words.\n"
    "Never ask about age or family."
)
LINE_COMMENT = "Line 2 is leading; ask an open question"
CHANGES_BODY = "Please rephrase line 2 as an open question."
APPROVAL_BODY = "Open question now; good to ship."


@pytest.fixture
def review_setup(project):
    """``production`` protected; v1 by the editor, approved, holds production."""
    project.protected_labels = ["production"]
    project.required_approvals = 1
    project.author_approval_counts = False
    project.save(
        update_fields=[
            "protected_labels",
            "required_approvals",
            "author_approval_counts",
        ]
    )
    users = {
        role: make_member(project, role, username=role)
        for role in (Role.EDITOR, Role.REVIEWER, Role.APPROVER)
    }
    v1 = services.version_create(
        project=project,
        name=NAME,
        type="text",
        content=V1_TEXT,
        commit_message="First screening questions",
        actor=users[Role.EDITOR],
    )
    review_request(version=v1, actor=users[Role.EDITOR])
    review_decide(version=v1, actor=users[Role.APPROVER], decision="approve")
    services.label_move(
        prompt=v1.prompt,
        label="production",
        version_number=1,
        actor=users[Role.APPROVER],
    )
    api_key, secret = ApiKey.generate(project=project, note="review flow")
    return users, (api_key.public_key, secret)


def log_in_as(page, base, username):
    """Start a fresh session for ``username`` in the same tab."""
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def status_badge(page):
    return page.locator("#version-status .review-badge")


def shown_lines(page):
    """The lines of prompt text on a version page, as the user sees them."""
    return page.locator(".prompt-lines .line-text").all_inner_texts()


def open_version(page, number):
    page.locator("table.versions").get_by_role(
        "link", name=f"v{number}", exact=True
    ).click()
    page.wait_for_selector(".prompt-lines")


def request_review(page, reviewer=None):
    panel = page.locator("#review-panel")
    if reviewer:
        panel.get_by_label(reviewer, exact=True).check()
    panel.get_by_role("button", name="Request review", exact=True).click()
    page.wait_for_selector("#review-panel .review-request")


def fetch_production(base, keys):
    """GET the prompt by label from the live server as an SDK would."""
    token = base64.b64encode(":".join(keys).encode()).decode()
    url = f"{base}/api/public/v2/prompts/{quote(NAME, safe='')}?label=production"
    request = Request(url, headers={"Authorization": f"Basic {token}"})
    with urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def test_a_version_goes_through_review_to_production_and_back(
    live_server, page, shot, project, review_setup
):
    users, keys = review_setup
    base = live_server.url
    detail = f"{base}/p/{project.slug}/prompts/{NAME}/"
    assert fetch_production(base, keys)["version"] == 1

    # The editor writes v2 on the edit page and asks the reviewer for review.
    log_in_as(page, base, "editor")
    page.goto(detail)
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_selector("[data-prompt-editor]")
    assert page.get_by_label("Prompt text").input_value() == V1_TEXT
    page.get_by_label("Prompt text").fill(V2_TEXT)
    page.get_by_label("What did you change, and why?").fill("Warmer second question")
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(f"{base}/p/{project.slug}/prompts/{NAME}/v/2/")
    assert status_badge(page).inner_text() == "Draft"
    request_review(page, reviewer="reviewer")
    assert status_badge(page).inner_text() == "In review"
    assert "from reviewer." in page.inner_text("#review-panel .review-request")
    shot("review-1-editor-requested-v2")

    # The reviewer finds the prompt by searching the list and opens v2.
    log_in_as(page, base, "reviewer")
    page.get_by_role("link", name="Acme").click()
    page.get_by_label("Name").fill("screening")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=NAME, exact=True).click()
    page.wait_for_selector("h1.prompt-title")
    assert page.get_by_role("link", name="Edit", exact=True).count() == 0
    shot("review-1-reviewer-prompt")
    open_version(page, 2)
    assert shown_lines(page) == V2_TEXT.splitlines()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert "Approving needs the approver role" in page.inner_text("#review-panel")

    # A comment on line 2 opens under that line and stays there.
    page.locator("#L2").hover()
    page.get_by_role("link", name="Comment on line 2").click()
    page.get_by_role("textbox", name="Comment on line 2").fill(LINE_COMMENT)
    shot("review-1-reviewer-comment-form")
    page.locator("#form-L2").get_by_role("button", name="Comment").click()
    under_line_2 = page.locator("pre:has(#L2) + .line-threads")
    under_line_2.locator(".comment-body").wait_for()
    assert under_line_2.locator(".comment-body").inner_text() == LINE_COMMENT
    assert page.locator("#form-L2").count() == 0
    comment = Comment.objects.get()
    assert (comment.line, comment.author_name, comment.body) == (
        2,
        "reviewer",
        LINE_COMMENT,
    )

    page.get_by_label("Your review").fill(CHANGES_BODY)
    page.get_by_role("button", name="Request changes").click()
    page.wait_for_selector("#version-status .review-changes_requested")
    assert status_badge(page).inner_text() == "Changes requested"
    assert CHANGES_BODY in page.inner_text("#review-panel .decisions")
    shot("review-1-reviewer-changes-requested")

    # The author answers with v3 and asks again, this time everyone.
    log_in_as(page, base, "editor")
    page.goto(detail)
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_selector("[data-prompt-editor]")
    assert page.get_by_label("Prompt text").input_value() == V2_TEXT
    page.get_by_label("Prompt text").fill(V3_TEXT)
    page.get_by_label("What did you change, and why?").fill("Open second question")
    page.locator("#preview .preview-output", has_text="what kind of work").wait_for()
    shot("review-2-editor-edit")
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(f"{base}/p/{project.slug}/prompts/{NAME}/v/3/")
    assert shown_lines(page) == V3_TEXT.splitlines()
    assert page.inner_text(".commit") == "Open second question"
    request_review(page)
    assert status_badge(page).inner_text() == "In review"
    shot("review-2-editor-requested-v3")

    # The approver approves v3, then deploys it with the Move label form.
    log_in_as(page, base, "approver")
    page.goto(detail)
    open_version(page, 3)
    assert shown_lines(page) == V3_TEXT.splitlines()
    page.get_by_label("Your review").fill(APPROVAL_BODY)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("#version-status .review-approved")
    assert status_badge(page).inner_text() == "Approved"
    shot("review-3-approver-approved")

    page.get_by_role("navigation", name="Prompt").get_by_role(
        "link", name="screening-questions"
    ).click()
    move_form = page.locator("form.label-move")
    move_form.get_by_label("Label", exact=True).fill("production")
    move_form.get_by_label("To version").select_option("3")
    move_form.get_by_role("button", name="Move label").click()
    page.wait_for_selector(".messages .success")
    assert (
        page.inner_text(".messages .success")
        == "Label 'production' moved from version 1 to version 3."
    )
    production_points_at = page.locator(
        "table.labels-table tr", has_text="production"
    ).locator("td:nth-child(2)")
    assert production_points_at.inner_text() == "version 3"
    shot("review-3-approver-moved-production")

    served = fetch_production(base, keys)
    assert served["version"] == 3
    assert served["prompt"].splitlines() == V3_TEXT.splitlines()

    # Roll back: production returns to v1, where it was before.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Roll back to v1").click()
    page.wait_for_selector(".messages .success:has-text('to version 1')")
    assert production_points_at.inner_text() == "version 1"
    shot("review-5-approver-rolled-back")

    served = fetch_production(base, keys)
    assert (served["version"], served["prompt"]) == (1, V1_TEXT)
    prompt = Prompt.objects.get(name=NAME)
    assert prompt.labels.get(name="production").version.number == 1


def test_the_editor_stores_plain_newlines_though_the_browser_sends_crlf(
    live_server, page, project, review_setup
):
    base = live_server.url
    log_in_as(page, base, "editor")
    page.goto(f"{base}/p/{project.slug}/edit/{NAME}/")
    page.get_by_label("Prompt text").fill(V2_TEXT)
    page.get_by_label("What did you change, and why?").fill("Warmer second question")
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(f"{base}/p/{project.slug}/prompts/{NAME}/v/2/")

    assert Prompt.objects.get(name=NAME).versions.get(number=2).content == V2_TEXT
