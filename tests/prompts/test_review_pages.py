"""The review pages: comments, review requests and decisions, label moves and
rollbacks; access per role and tenant, refusals, htmx fragments."""

import pytest
from django.urls import reverse

from prompts import services
from prompts.models import (
    Comment,
    Label,
    LabelMove,
    PromptVersion,
    Review,
    ReviewRequest,
    ReviewStatus,
)
from prompts.services.comments import comment_add
from prompts.services.reviews import review_request
from workbench.models import Role

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
TEXT = "Hello {{name}},\nwelcome to {{place}}.\nBye."
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def version(project, members):
    """Version 1 of a three-line text prompt, written by the editor."""
    return services.version_create(
        project=project, name="greeting", content=TEXT, actor=members[Role.EDITOR]
    )


@pytest.fixture
def in_review(version, members):
    review_request(version=version, actor=members[Role.EDITOR])
    version.refresh_from_db()
    return version


@pytest.fixture
def comment(version, members):
    return comment_add(
        version=version, actor=members[Role.REVIEWER], body="Too formal", line=2
    )


def url(name, *args):
    return reverse(name, args=["acme", *args])


def page_url(version):
    return reverse("prompt-version", args=["acme", version.prompt.name, version.number])


def detail_url(prompt):
    return reverse("prompt-detail", args=["acme", prompt.name])


def snapshot():
    """Everything the review views can change, to show a refusal changed nothing."""
    return {
        "comments": sorted(
            Comment.objects.values_list(
                "pk", "body", "edited_at", "deleted_at", "resolved_at"
            )
        ),
        "requests": sorted(
            ReviewRequest.objects.values_list("pk", "closed_at"), key=str
        ),
        "reviews": Review.objects.count(),
        "statuses": sorted(
            PromptVersion.objects.values_list("number", "review_status")
        ),
        "labels": sorted(Label.objects.values_list("name", "version__number")),
        "moves": LabelMove.objects.count(),
    }


def every_view(version, comment):
    """``(method, url, data)`` for each view on this page, valid input."""
    prompt = version.prompt
    return [
        ("get", url("comment-form", version.id) + "?line=1", None),
        ("post", url("comment-add", version.id), {"body": "Fine"}),
        ("post", url("comment-edit", comment.pk), {"body": "Changed"}),
        ("post", url("comment-delete", comment.pk), {}),
        ("post", url("comment-resolve", comment.pk), {"resolved": "1"}),
        ("post", url("review-request", version.id), {"message": "Please"}),
        ("post", url("review-decide", version.id), {"decision": "approve"}),
        ("post", url("label-move", prompt.id), {"label": "staging", "version": 1}),
        ("post", url("label-rollback", prompt.id), {"label": "latest"}),
    ]


def send(client, method, address, data, **extra):
    if method == "get":
        return client.get(address, **extra)
    return client.post(address, data, **extra)


# Access


def test_it_sends_anonymous_users_to_login(client, version, comment):
    before = snapshot()

    for method, address, data in every_view(version, comment):
        response = send(client, method, address, data)

        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse("login")), address
    assert snapshot() == before


def test_it_hides_every_view_from_outsiders(login_as, outsider, version, comment):
    client = login_as(outsider)
    before = snapshot()

    for method, address, data in every_view(version, comment):
        assert send(client, method, address, data).status_code == 404, address
    assert snapshot() == before


def test_it_hides_every_view_from_members_of_another_project(
    login_as, other_member, version, comment
):
    client = login_as(other_member)
    before = snapshot()

    for method, address, data in every_view(version, comment):
        assert send(client, method, address, data).status_code == 404, address
    assert snapshot() == before


def test_a_member_cannot_reach_another_projects_version_through_their_own(
    login_as, members, other_project, other_member
):
    foreign = services.version_create(
        project=other_project, name="secret", content="Globex only"
    )
    foreign_comment = comment_add(version=foreign, actor=other_member, body="Ours")
    client = login_as(members[Role.ADMIN])
    before = snapshot()

    for method, address, data in every_view(foreign, foreign_comment):
        assert send(client, method, address, data).status_code == 404, address
    assert snapshot() == before


def test_views_that_change_things_refuse_get(login_as, members, version, comment):
    client = login_as(members[Role.ADMIN])

    for method, address, _ in every_view(version, comment):
        if method == "post":
            assert client.get(address).status_code == 405, address


# Comments


def test_a_viewer_cannot_comment(login_as, members, version):
    client = login_as(members[Role.VIEWER])
    before = snapshot()

    response = client.post(url("comment-add", version.id), {"body": "Me too"})

    assert response.status_code == 403
    assert snapshot() == before


def test_a_reviewer_comments_on_a_line(login_as, members, version):
    client = login_as(members[Role.REVIEWER])

    response = client.post(url("comment-add", version.id), {"body": "Hm", "line": 2})

    comment = Comment.objects.get()
    assert (comment.body, comment.line, comment.message) == ("Hm", 2, None)
    assert comment.author == members[Role.REVIEWER]
    assert response.status_code == 302
    assert response["Location"] == f"{page_url(version)}#comment-{comment.pk}"


def test_a_general_comment_has_no_anchor(login_as, members, version):
    client = login_as(members[Role.REVIEWER])

    client.post(url("comment-add", version.id), {"body": "Looks good overall"})

    comment = Comment.objects.get()
    assert (comment.line, comment.message) == (None, None)


def test_a_line_out_of_range_is_refused_with_the_message(login_as, members, version):
    client = login_as(members[Role.REVIEWER])
    before = snapshot()

    response = client.post(
        url("comment-add", version.id), {"body": "Where?", "line": 9}
    )

    assert response.status_code == 400
    assert "line: must be between 1 and 3 (got 9)" in response.content.decode()
    assert snapshot() == before


def test_a_line_that_is_not_a_number_is_refused(login_as, members, version):
    client = login_as(members[Role.REVIEWER])
    before = snapshot()

    response = client.post(
        url("comment-add", version.id), {"body": "Where?", "line": "two"}
    )

    assert response.status_code == 400
    assert "line: must be a whole number (got &#x27;two&#x27;)" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_a_chat_line_names_its_message(login_as, members, project):
    chat = services.version_create(
        project=project,
        name="interview",
        content=[
            {"role": "system", "content": "You interview.\nBe kind."},
            {"role": "user", "content": "Hi"},
        ],
    )
    client = login_as(members[Role.REVIEWER])

    ok = client.post(
        url("comment-add", chat.id), {"body": "Kinder", "message": 0, "line": 2}
    )
    refused = client.post(
        url("comment-add", chat.id), {"body": "Where?", "message": 5, "line": 1}
    )

    assert ok.status_code == 302
    assert Comment.objects.get().anchor == "message 1, line 2"
    assert refused.status_code == 400
    assert "message: must be between 0 and 1 (got 5)" in refused.content.decode()
    page = client.get(page_url(chat)).content.decode()
    assert 'id="m0-L2"' in page
    assert "Kinder" in page


def test_an_empty_comment_is_refused_and_keeps_the_form_open(
    login_as, members, version
):
    client = login_as(members[Role.REVIEWER])
    before = snapshot()

    response = client.post(url("comment-add", version.id), {"body": "  ", "line": 3})

    html = response.content.decode()
    assert response.status_code == 400
    assert "body: must not be empty" in html
    assert 'id="form-L3"' in html
    assert snapshot() == before


def test_a_reply_joins_the_thread_of_its_line(login_as, members, comment):
    client = login_as(members[Role.APPROVER])

    response = client.post(
        url("comment-add", comment.version_id), {"body": "Agreed", "parent": comment.pk}
    )

    reply = Comment.objects.get(parent=comment)
    assert response.status_code == 302
    assert (reply.body, reply.line) == ("Agreed", 2)


def test_a_reply_to_a_comment_of_another_version_is_refused(
    login_as, members, project, comment
):
    second = services.version_create(project=project, name="greeting", content="v2")
    client = login_as(members[Role.REVIEWER])
    before = snapshot()

    response = client.post(
        url("comment-add", second.id), {"body": "Lost", "parent": comment.pk}
    )

    assert response.status_code == 400
    assert f"parent: no comment {comment.pk} on this version" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_only_the_author_edits_a_comment(login_as, members, comment):
    before = snapshot()

    refused = login_as(members[Role.ADMIN]).post(
        url("comment-edit", comment.pk), {"body": "Hijacked"}
    )

    assert refused.status_code == 403
    assert "Only the author of a comment may edit it." in refused.content.decode()
    assert snapshot() == before

    allowed = login_as(members[Role.REVIEWER]).post(
        url("comment-edit", comment.pk), {"body": "Too stiff"}
    )

    comment.refresh_from_db()
    assert allowed.status_code == 302
    assert comment.body == "Too stiff"
    assert comment.edited_at is not None


def test_only_the_author_deletes_a_comment_and_replies_stay(login_as, members, comment):
    comment_add(
        version=comment.version,
        actor=members[Role.APPROVER],
        body="Reply stays",
        parent=comment,
    )
    before = snapshot()

    refused = login_as(members[Role.APPROVER]).post(url("comment-delete", comment.pk))

    assert refused.status_code == 403
    assert snapshot() == before

    client = login_as(members[Role.REVIEWER])
    allowed = client.post(url("comment-delete", comment.pk))

    comment.refresh_from_db()
    assert allowed.status_code == 302
    assert comment.deleted_at is not None
    page = client.get(page_url(comment.version)).content.decode()
    assert "comment deleted" in page
    assert "Reply stays" in page
    assert "Too formal" not in page


def test_a_deleted_comment_cannot_be_edited(login_as, members, comment):
    client = login_as(members[Role.REVIEWER])
    client.post(url("comment-delete", comment.pk))
    before = snapshot()

    response = client.post(url("comment-edit", comment.pk), {"body": "Back"})

    assert response.status_code == 400
    assert "comment: has been deleted" in response.content.decode()
    assert snapshot() == before


def test_an_htmx_edit_with_no_text_reopens_the_edit_form(login_as, members, comment):
    before = snapshot()

    response = login_as(members[Role.REVIEWER]).post(
        url("comment-edit", comment.pk), {"body": ""}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert '<details class="edit-form" open>' in html
    assert "body: must not be empty" in html
    assert snapshot() == before


def test_only_the_first_comment_of_a_thread_resolves(login_as, members, comment):
    reply = comment_add(
        version=comment.version,
        actor=members[Role.REVIEWER],
        body="Reply",
        parent=comment,
    )
    before = snapshot()

    response = login_as(members[Role.REVIEWER]).post(
        url("comment-resolve", reply.pk), {"resolved": "1"}
    )

    assert response.status_code == 400
    assert "comment: only a thread&#x27;s first comment resolves" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_a_reviewer_resolves_and_reopens_a_thread(login_as, members, comment):
    client = login_as(members[Role.APPROVER])

    client.post(url("comment-resolve", comment.pk), {"resolved": "1"})
    comment.refresh_from_db()
    resolved_by = comment.resolved_by
    client.post(url("comment-resolve", comment.pk), {"resolved": "0"})
    comment.refresh_from_db()

    assert resolved_by == members[Role.APPROVER]
    assert comment.resolved_at is None


def test_a_viewer_cannot_resolve_someone_elses_thread(login_as, members, comment):
    before = snapshot()

    response = login_as(members[Role.VIEWER]).post(
        url("comment-resolve", comment.pk), {"resolved": "1"}
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_a_comment_body_renders_escaped(login_as, members, version):
    comment = comment_add(
        version=version, actor=members[Role.REVIEWER], body=SCRIPT, line=1
    )
    comment_add(version=version, actor=members[Role.REVIEWER], body=SCRIPT)
    client = login_as(members[Role.VIEWER])

    page = client.get(page_url(version)).content.decode()
    thread = login_as(members[Role.REVIEWER]).post(
        url("comment-resolve", comment.pk), {"resolved": "0"}, **HTMX
    )

    assert SCRIPT not in page
    assert page.count(ESCAPED_SCRIPT) == 2
    assert SCRIPT not in thread.content.decode()
    assert ESCAPED_SCRIPT in thread.content.decode()


def test_line_comments_show_under_their_line(login_as, members, comment):
    html = login_as(members[Role.VIEWER]).get(page_url(comment.version)).content
    html = html.decode()

    # Line 2 ends a block of text; its thread follows before line 3.
    assert html.index('id="L2"') < html.index("Too formal") < html.index('id="L3"')
    assert '<a href="#thread-' in html


# The comment form under a line


def test_the_line_form_comes_as_a_fragment_for_htmx(login_as, members, version):
    client = login_as(members[Role.REVIEWER])

    response = client.get(url("comment-form", version.id), {"line": 2}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="prompt-body"')
    assert 'id="form-L2"' in html
    assert '<input type="hidden" name="line" value="2">' in html


def test_the_line_form_without_htmx_opens_on_the_page(login_as, members, version):
    client = login_as(members[Role.REVIEWER])

    response = client.get(url("comment-form", version.id), {"line": 2})
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == f"{page_url(version)}?line=2#form-L2"
    assert 'id="form-L2"' in page.content.decode()


def test_the_line_form_refuses_a_line_out_of_range(login_as, members, version):
    client = login_as(members[Role.REVIEWER])

    response = client.get(url("comment-form", version.id), {"line": 4}, **HTMX)

    assert response.status_code == 400
    assert "line: must be between 1 and 3 (got 4)" in response.content.decode()
    assert response["HX-Reswap"] == "outerHTML"


def test_a_viewer_gets_no_line_form(login_as, members, version):
    client = login_as(members[Role.VIEWER])

    response = client.get(url("comment-form", version.id), {"line": 1})
    page = client.get(page_url(version), {"line": 1}).content.decode()

    assert response.status_code == 403
    assert "form-L1" not in page
    assert "line-comment" not in page


# htmx fragments


def test_htmx_comment_requests_get_the_part_they_swap(login_as, members, comment):
    client = login_as(members[Role.REVIEWER])
    version = comment.version
    address = url("comment-add", version.id)

    general = client.post(address, {"body": "Overall fine"}, **HTMX)
    on_line = client.post(address, {"body": "Hm", "line": 1}, **HTMX)
    reply = client.post(address, {"body": "Me", "parent": comment.pk}, **HTMX)
    edit = client.post(url("comment-edit", comment.pk), {"body": "Edited"}, **HTMX)

    for response in (general, on_line, reply, edit):
        assert response.status_code == 200
        assert "<html" not in response.content.decode()
    assert general.content.decode().lstrip().startswith('<div id="general-comments"')
    assert "Overall fine" in general.content.decode()
    assert on_line.content.decode().lstrip().startswith('<div id="prompt-body"')
    assert f'id="thread-{comment.pk}"' in reply.content.decode()
    assert "Me" in reply.content.decode()
    assert "Edited" in edit.content.decode()


def test_an_htmx_refusal_is_a_fragment_that_says_how_to_swap(
    login_as, members, comment
):
    before = snapshot()

    response = login_as(members[Role.ADMIN]).post(
        url("comment-edit", comment.pk), {"body": "Not mine"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 403
    assert "<html" not in html
    assert f'id="thread-{comment.pk}"' in html
    assert "Only the author of a comment may edit it." in html
    assert response["HX-Reswap"] == "outerHTML"
    assert snapshot() == before


def test_an_htmx_request_below_the_role_gets_a_flash_fragment(
    login_as, members, version
):
    before = snapshot()

    response = login_as(members[Role.VIEWER]).post(
        url("comment-add", version.id), {"body": "Hi"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 403
    assert "<html" not in html
    assert "This needs the reviewer role on greeting; you are viewer." in html
    assert response["HX-Retarget"] == "#review-flash"
    assert snapshot() == before


# Review requests


def test_an_editor_requests_review_from_chosen_reviewers(
    login_as, members, project, version
):
    reviewer = members[Role.REVIEWER]
    client = login_as(members[Role.EDITOR])

    response = client.post(
        url("review-request", version.id),
        {"reviewers": [reviewer.pk], "message": "Tone check"},
    )

    request = ReviewRequest.objects.get()
    version.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"{page_url(version)}#review-panel"
    assert list(request.reviewers.all()) == [reviewer]
    assert request.message == "Tone check"
    assert version.review_status == ReviewStatus.IN_REVIEW


def test_a_request_without_reviewers_asks_everyone(login_as, members, version):
    client = login_as(members[Role.EDITOR])

    client.post(url("review-request", version.id))

    page = client.get(page_url(version)).content.decode()
    assert ReviewRequest.objects.get().reviewers.count() == 0
    assert "everyone who can review this prompt" in page


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_below_editor_only_the_author_may_request_review(
    login_as, members, version, role
):
    before = snapshot()

    response = login_as(members[role]).post(url("review-request", version.id))

    assert response.status_code == 403
    assert "Only the version&#x27;s author or an editor" in response.content.decode()
    assert snapshot() == before


def test_a_reviewer_who_is_not_a_member_is_refused(
    login_as, members, version, other_member
):
    before = snapshot()

    response = login_as(members[Role.EDITOR]).post(
        url("review-request", version.id), {"reviewers": [other_member.pk]}
    )

    assert response.status_code == 400
    assert (
        f"reviewers: user {other_member.pk} is not a member of this project"
        in response.content.decode()
    )
    assert snapshot() == before


def test_ids_too_big_for_the_database_are_refused_as_input(login_as, members, version):
    huge = "9" * 30
    client = login_as(members[Role.EDITOR])
    before = snapshot()

    reviewers = client.post(url("review-request", version.id), {"reviewers": huge})
    parent = client.post(url("comment-add", version.id), {"body": "x", "parent": huge})

    assert reviewers.status_code == 400
    assert parent.status_code == 400
    assert snapshot() == before


def test_a_viewer_cannot_be_asked_to_review(login_as, members, version):
    before = snapshot()

    response = login_as(members[Role.EDITOR]).post(
        url("review-request", version.id), {"reviewers": [members[Role.VIEWER].pk]}
    )

    assert response.status_code == 400
    assert "reviewers: acme-viewer may not review greeting" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_the_request_form_offers_who_can_review(login_as, members, version):
    html = login_as(members[Role.EDITOR]).get(page_url(version)).content.decode()

    for role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        assert f'value="{members[role].pk}"> acme-{role}' in html
    assert f'name="reviewers" value="{members[Role.VIEWER].pk}"' not in html
    assert "Request review</button>" in html


# Decisions


def test_a_reviewer_requests_changes_with_a_comment(login_as, members, in_review):
    client = login_as(members[Role.REVIEWER])

    response = client.post(
        url("review-decide", in_review.id),
        {"decision": "request_changes", "body": "Say hello less"},
    )

    in_review.refresh_from_db()
    page = client.get(page_url(in_review)).content.decode()
    assert response.status_code == 302
    assert in_review.review_status == ReviewStatus.CHANGES_REQUESTED
    assert "Say hello less" in page
    assert '<span class="review-badge review-changes_requested"' in page


def test_requesting_changes_needs_a_comment(login_as, members, in_review):
    before = snapshot()

    response = login_as(members[Role.REVIEWER]).post(
        url("review-decide", in_review.id), {"decision": "request_changes"}
    )

    assert response.status_code == 400
    assert "body: say what should change" in response.content.decode()
    assert snapshot() == before


def test_a_reviewer_cannot_approve(login_as, members, in_review):
    before = snapshot()

    response = login_as(members[Role.REVIEWER]).post(
        url("review-decide", in_review.id), {"decision": "approve"}
    )

    assert response.status_code == 403
    assert "Approving needs the approver role" in response.content.decode()
    assert snapshot() == before


def test_a_viewer_cannot_decide(login_as, members, in_review):
    before = snapshot()

    response = login_as(members[Role.VIEWER]).post(
        url("review-decide", in_review.id),
        {"decision": "request_changes", "body": "No"},
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_an_approver_approves(login_as, members, in_review):
    client = login_as(members[Role.APPROVER])

    response = client.post(
        url("review-decide", in_review.id), {"decision": "approve", "body": "Ship"}
    )

    in_review.refresh_from_db()
    page = client.get(page_url(in_review)).content.decode()
    assert response.status_code == 302
    assert in_review.review_status == ReviewStatus.APPROVED
    assert "by acme-approver (1 of 1 approval required)" in page
    assert "Ship" in page


def test_the_author_may_not_approve_their_own_version(login_as, members, project):
    approver = members[Role.APPROVER]
    own = services.version_create(
        project=project, name="mine", content="Mine", actor=approver
    )
    review_request(version=own, actor=approver)
    before = snapshot()

    response = login_as(approver).post(
        url("review-decide", own.id), {"decision": "approve"}
    )

    html = response.content.decode()
    assert response.status_code == 403
    assert "Four eyes: the author of a version may not approve it" in html
    assert 'class="review-refusal"' in html
    assert snapshot() == before
    page = login_as(approver).get(page_url(own)).content.decode()
    assert "someone else reviews and approves it (four eyes)" in page
    assert 'value="approve"' not in page


def test_deciding_before_review_is_requested_is_refused(login_as, members, version):
    before = snapshot()

    response = login_as(members[Role.APPROVER]).post(
        url("review-decide", version.id), {"decision": "approve"}
    )

    assert response.status_code == 400
    assert "version: version 1 has not been sent for review" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_an_unknown_decision_is_refused(login_as, members, in_review):
    before = snapshot()

    response = login_as(members[Role.APPROVER]).post(
        url("review-decide", in_review.id), {"decision": "maybe"}
    )

    assert response.status_code == 400
    assert "decision: must be" in response.content.decode()
    assert snapshot() == before


def test_an_htmx_decision_swaps_the_panel_and_the_header_badge(
    login_as, members, in_review
):
    response = login_as(members[Role.APPROVER]).post(
        url("review-decide", in_review.id), {"decision": "approve"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.count('id="review-panel"') == 1
    assert '<span id="version-status" class="version-status" hx-swap-oob="true">' in (
        html
    )
    assert "review-badge review-approved" in html


def test_the_panel_lists_the_decisions_under_the_open_request(
    login_as, members, in_review
):
    client = login_as(members[Role.REVIEWER])
    client.post(
        url("review-decide", in_review.id),
        {"decision": "request_changes", "body": "Shorter"},
    )
    login_as(members[Role.APPROVER]).post(
        url("review-decide", in_review.id), {"decision": "approve"}
    )

    html = login_as(members[Role.VIEWER]).get(page_url(in_review)).content.decode()

    assert html.index("acme-reviewer</b>") < html.index("acme-approver</b>")
    assert "Shorter" in html
    # A viewer sees the review but none of its forms.
    assert "review-decide" not in html
    assert 'name="decision"' not in html


# Labels


def two_versions(project, members):
    """Version 1 and 2 of "greeting", by the editor; staging on version 1."""
    first = services.version_create(
        project=project,
        name="greeting",
        content="One",
        labels=["staging"],
        actor=members[Role.EDITOR],
    )
    second = services.version_create(
        project=project, name="greeting", content="Two", actor=members[Role.EDITOR]
    )
    return first, second


def test_an_editor_moves_an_unprotected_label(login_as, members, project):
    first, second = two_versions(project, members)
    client = login_as(members[Role.EDITOR])

    response = client.post(
        url("label-move", first.prompt_id), {"label": "staging", "version": 2}
    )

    move = LabelMove.objects.filter(label="staging").first()
    assert response.status_code == 302
    assert response["Location"] == f"{detail_url(first.prompt)}#labels"
    assert Label.objects.get(name="staging").version == second
    assert (move.from_version, move.to_version, move.moved_by) == (
        1,
        2,
        members[Role.EDITOR],
    )
    page = client.get(response["Location"]).content.decode()
    assert "Label &#x27;staging&#x27; moved from version 1 to version 2." in page


def test_a_reviewer_cannot_move_labels(login_as, members, project):
    first, _ = two_versions(project, members)
    before = snapshot()

    response = login_as(members[Role.REVIEWER]).post(
        url("label-move", first.prompt_id), {"label": "staging", "version": 2}
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_an_unknown_version_or_bad_label_is_refused(login_as, members, project):
    first, _ = two_versions(project, members)
    client = login_as(members[Role.EDITOR])
    before = snapshot()

    missing = client.post(
        url("label-move", first.prompt_id), {"label": "staging", "version": 7}
    )
    bad = client.post(
        url("label-move", first.prompt_id), {"label": "Not OK", "version": 2}
    )
    latest = client.post(
        url("label-move", first.prompt_id), {"label": "latest", "version": 1}
    )

    assert missing.status_code == 400
    assert "version: greeting has no version 7" in missing.content.decode()
    # The page shown again keeps what was chosen.
    assert 'autocomplete="off" value="staging"' in missing.content.decode()
    assert bad.status_code == 400
    assert "&#x27;Not OK&#x27; is not a valid label" in bad.content.decode()
    assert latest.status_code == 400
    assert "&#x27;latest&#x27; is managed by the server" in latest.content.decode()
    assert snapshot() == before


@pytest.fixture
def deployed(protected, members, approve):
    """production on approved version 1; version 2 approved, version 3 not."""
    first, second = two_versions(protected, members)
    approve(first)
    approve(second)
    services.labels_add(version=first, labels=["production"], actor=None)
    third = services.version_create(
        project=protected, name="greeting", content="Three", actor=members[Role.EDITOR]
    )
    return first, second, third


def test_an_editor_cannot_move_a_protected_label(login_as, members, deployed):
    first, second, _ = deployed
    before = snapshot()

    response = login_as(members[Role.EDITOR]).post(
        url("label-move", first.prompt_id), {"label": "production", "version": 2}
    )

    assert response.status_code == 403
    assert "only an approver may move it" in response.content.decode()
    assert snapshot() == before


def test_an_approver_cannot_move_a_protected_label_to_an_unapproved_version(
    login_as, members, deployed
):
    first, _, third = deployed
    before = snapshot()

    response = login_as(members[Role.APPROVER]).post(
        url("label-move", first.prompt_id), {"label": "production", "version": 3}
    )

    assert response.status_code == 403
    assert "may only move to an approved version (version 3 is draft)" in (
        response.content.decode()
    )
    assert '<option value="3" selected>' in response.content.decode()
    assert snapshot() == before


def test_an_approver_moves_a_protected_label_to_an_approved_version(
    login_as, members, deployed
):
    first, second, _ = deployed

    response = login_as(members[Role.APPROVER]).post(
        url("label-move", first.prompt_id), {"label": "production", "version": 2}
    )

    assert response.status_code == 302
    assert Label.objects.get(name="production").version == second


def test_rollback_moves_the_label_back_and_records_the_move(
    login_as, members, deployed
):
    first, second, _ = deployed
    services.label_move(
        prompt=first.prompt, label="production", version_number=2, actor=None
    )
    moves = LabelMove.objects.count()

    response = login_as(members[Role.APPROVER]).post(
        url("label-rollback", first.prompt_id), {"label": "production"}
    )

    move = LabelMove.objects.order_by("-id").first()
    assert response.status_code == 302
    assert Label.objects.get(name="production").version == first
    assert LabelMove.objects.count() == moves + 1
    assert (move.label, move.from_version, move.to_version) == ("production", 2, 1)
    assert move.moved_by == members[Role.APPROVER]


def test_an_editor_cannot_roll_back_a_protected_label(login_as, members, deployed):
    first, _, _ = deployed
    services.label_move(
        prompt=first.prompt, label="production", version_number=2, actor=None
    )
    before = snapshot()

    response = login_as(members[Role.EDITOR]).post(
        url("label-rollback", first.prompt_id), {"label": "production"}
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_a_label_with_nowhere_to_go_back_to_is_refused(login_as, members, project):
    first, _ = two_versions(project, members)
    before = snapshot()

    response = login_as(members[Role.EDITOR]).post(
        url("label-rollback", first.prompt_id), {"label": "staging"}
    )

    assert response.status_code == 400
    assert "&#x27;staging&#x27; has no earlier version to roll back to" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_an_htmx_label_move_redirects_and_a_refusal_is_a_fragment(
    login_as, members, deployed
):
    first, _, _ = deployed
    client = login_as(members[Role.EDITOR])

    moved = client.post(
        url("label-move", first.prompt_id), {"label": "staging", "version": 3}, **HTMX
    )
    refused = client.post(
        url("label-move", first.prompt_id),
        {"label": "production", "version": 2},
        **HTMX,
    )

    assert moved["HX-Redirect"] == f"{detail_url(first.prompt)}#labels"
    assert refused.status_code == 403
    assert "<html" not in refused.content.decode()
    assert "only an approver may move it" in refused.content.decode()
    assert refused["HX-Retarget"] == "#review-flash"


# The prompt page


def test_the_prompt_page_shows_review_status_and_open_comments(
    login_as, members, deployed
):
    first, _, third = deployed
    comment_add(version=third, actor=members[Role.REVIEWER], body="One")
    resolved = comment_add(version=third, actor=members[Role.REVIEWER], body="Two")
    Comment.objects.filter(pk=resolved.pk).update(resolved_at=resolved.created_at)

    html = login_as(members[Role.VIEWER]).get(detail_url(first.prompt)).content
    html = html.decode()

    assert html.count('<span class="review-badge review-approved"') == 2
    assert html.count('<span class="review-badge review-draft"') == 1
    assert "1 open comment</a>" in html
    assert reverse("prompt-history", args=["acme", "greeting"]) in html


def test_the_prompt_page_offers_label_moves_by_role(login_as, members, deployed):
    first, _, _ = deployed
    address = detail_url(first.prompt)

    viewer = login_as(members[Role.VIEWER]).get(address).content.decode()
    editor = login_as(members[Role.EDITOR]).get(address).content.decode()
    approver = login_as(members[Role.APPROVER]).get(address).content.decode()

    assert "Move label</button>" not in viewer
    assert "Move label</button>" in editor
    assert "only by an approver; you are not an approver on this prompt" in editor
    assert "you are not an approver" not in approver
    assert '<span class="sr-only">(protected)</span>' in viewer


def test_roll_back_is_offered_on_the_newest_move_of_each_label(
    login_as, members, deployed
):
    first, _, _ = deployed
    services.label_move(
        prompt=first.prompt, label="production", version_number=2, actor=None
    )
    services.label_move(
        prompt=first.prompt, label="staging", version_number=3, actor=None
    )
    address = detail_url(first.prompt)

    approver = login_as(members[Role.APPROVER]).get(address).content.decode()
    editor = login_as(members[Role.EDITOR]).get(address).content.decode()
    viewer = login_as(members[Role.VIEWER]).get(address).content.decode()

    assert "Roll back to v1</button>" in approver
    assert "Roll back to v1</button>" in editor  # staging: 3 back to 1
    assert approver.count("Roll back to v") == 2
    # production is protected: an editor is told why instead.
    assert editor.count("Roll back to v") == 1
    assert "&#x27;production&#x27; is protected: only an approver may move it." in (
        editor
    )
    assert "Roll back to v" not in viewer


def test_an_htmx_comment_also_updates_the_open_comment_count(
    login_as, members, version
):
    response = login_as(members[Role.REVIEWER]).post(
        url("comment-add", version.id), {"body": "Why so formal?"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<a id="open-comment-count" href="#comments" hx-swap-oob="true">'
        "1 open comment</a>"
    ) in html
