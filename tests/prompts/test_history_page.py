"""The prompt timeline: who did what to a prompt, newest first."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prompts import services
from prompts.models import Comment, LabelMove, PromptVersion, Review, ReviewRequest
from prompts.services.comments import comment_add, comment_delete
from prompts.services.reviews import review_decide, review_request
from workbench.models import Role

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def history_url(name="greeting/hello"):
    return reverse("prompt-history", args=["acme", name])


def at(minutes):
    """``minutes`` after an hour ago: steps a minute apart keep their order."""
    return timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)


@pytest.fixture
def story(project, members):
    """A prompt's life: two versions, a review round, comments, a deploy.

    Each step is dated a minute after the one before.
    """
    editor, reviewer = members[Role.EDITOR], members[Role.REVIEWER]
    first = services.version_create(
        project=project,
        name="greeting/hello",
        content="Hi",
        commit_message="First words",
        actor=editor,
    )
    request = review_request(
        version=first, actor=editor, reviewers=[reviewer], message="Tone?"
    )
    changes = review_decide(
        version=first, actor=reviewer, decision="request_changes", body="Warmer"
    )
    comment = comment_add(version=first, actor=reviewer, body="Say hello", line=1)
    second = services.version_create(
        project=project, name="greeting/hello", content="Hello", actor=editor
    )
    move = services.label_move(
        prompt=first.prompt, label="staging", version_number=2, actor=editor
    )
    PromptVersion.objects.filter(pk=first.pk).update(created_at=at(0))
    ReviewRequest.objects.filter(pk=request.pk).update(created_at=at(1))
    Review.objects.filter(pk=changes.pk).update(created_at=at(2))
    Comment.objects.filter(pk=comment.pk).update(created_at=at(3))
    PromptVersion.objects.filter(pk=second.pk).update(created_at=at(4))
    LabelMove.objects.filter(pk=move.pk).update(moved_at=at(5))
    return first.prompt


# Access


def test_it_sends_anonymous_users_to_login(client, story):
    response = client.get(history_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_hides_the_timeline_from_outsiders(login_as, outsider, story):
    assert login_as(outsider).get(history_url()).status_code == 404


def test_it_hides_the_timeline_from_members_of_another_project(
    login_as, other_member, story
):
    assert login_as(other_member).get(history_url()).status_code == 404


def test_a_prompt_of_another_project_is_not_found_under_this_one(
    login_as, members, other_project, story
):
    services.version_create(project=other_project, name="globex/only", content="x")

    response = login_as(members[Role.ADMIN]).get(history_url("globex/only"))

    assert response.status_code == 404


@pytest.mark.parametrize("role", Role.values)
def test_every_role_reads_the_timeline(login_as, members, story, role):
    response = login_as(members[role]).get(history_url())

    assert response.status_code == 200
    assert response.context["prompt"] == story


# What it shows


def test_it_merges_every_kind_of_event_newest_first(login_as, members, story):
    response = login_as(members[Role.VIEWER]).get(history_url())

    kinds = [event.kind for event in response.context["events"]]
    assert kinds == ["label", "version", "comment", "decision", "request", "version"]
    html = response.content.decode()
    order = [
        'set <span class="label label-staging">staging</span> on',
        'created <a href="/p/acme/prompts/greeting/hello/v/2/">version 2</a>',
        "commented on",
        "requested changes to",
        "asked acme-reviewer to review",
        'created <a href="/p/acme/prompts/greeting/hello/v/1/">version 1</a>',
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)


def test_each_event_says_who_and_links_to_what(login_as, members, story):
    html = login_as(members[Role.VIEWER]).get(history_url()).content.decode()
    comment = Comment.objects.get()

    assert "<b>acme-editor</b>" in html
    assert "<b>acme-reviewer</b>" in html
    assert "First words" in html
    assert "Tone?" in html
    assert "Warmer" in html
    assert f'/v/1/#comment-{comment.pk}">version 1, line 1</a>' in html
    assert '/v/1/#review-panel">version 1</a>' in html
    assert "(superseded by a later request)" not in html
    # Each version carries its review status.
    assert '<span class="review-badge review-changes_requested"' in html
    assert '<span class="review-badge review-draft"' in html


def test_it_leaves_out_the_moves_of_latest(login_as, members, story):
    response = login_as(members[Role.VIEWER]).get(history_url())

    labels = [
        event.item.label
        for event in response.context["events"]
        if event.kind == "label"
    ]
    assert labels == ["staging"]
    assert LabelMove.objects.filter(label="latest").count() == 2


def test_it_filters_by_kind(login_as, members, story):
    client = login_as(members[Role.VIEWER])

    comments = client.get(history_url(), {"kind": "comment"})
    unknown = client.get(history_url(), {"kind": "nonsense"})

    assert [event.kind for event in comments.context["events"]] == ["comment"]
    assert comments.context["kind"] == "comment"
    assert len(unknown.context["events"]) == 6
    assert unknown.context["kind"] == ""


def test_deleted_comments_and_earlier_requests_are_marked(login_as, members, story):
    comment = Comment.objects.get()
    comment_delete(comment=comment, actor=members[Role.REVIEWER])
    review_request(version=story.versions.get(number=1), actor=members[Role.EDITOR])

    html = login_as(members[Role.VIEWER]).get(history_url()).content.decode()

    assert "comment deleted" in html
    assert "Say hello" not in html
    assert "(superseded by a later request)" in html
    assert "asked everyone who can review to review" in html


def test_text_in_the_timeline_is_escaped(login_as, members, project):
    version = services.version_create(
        project=project,
        name="greeting/hello",
        content="Hi",
        commit_message=SCRIPT,
        actor=members[Role.EDITOR],
    )
    comment_add(version=version, actor=members[Role.REVIEWER], body=SCRIPT)
    review_request(version=version, actor=members[Role.EDITOR], message=SCRIPT)

    html = login_as(members[Role.VIEWER]).get(history_url()).content.decode()

    assert SCRIPT not in html
    assert html.count(ESCAPED_SCRIPT) == 3


def test_a_new_prompt_has_only_its_first_version(login_as, members, project):
    services.version_create(project=project, name="greeting/hello", content="Hi")

    response = login_as(members[Role.VIEWER]).get(history_url())

    assert [event.kind for event in response.context["events"]] == ["version"]
    assert "<b>system</b>" in response.content.decode()


def test_the_timeline_needs_a_bounded_number_of_queries(
    login_as, members, project, django_assert_max_num_queries
):
    editor, reviewer = members[Role.EDITOR], members[Role.REVIEWER]
    for number in range(1, 16):
        version = services.version_create(
            project=project, name="greeting/hello", content=f"v{number}", actor=editor
        )
        review_request(version=version, actor=editor, reviewers=[reviewer])
        comment_add(version=version, actor=reviewer, body=f"Note {number}")
        review_decide(
            version=version, actor=reviewer, decision="request_changes", body="No"
        )
        services.label_move(
            prompt=version.prompt, label="staging", version_number=number, actor=editor
        )
    client = login_as(members[Role.VIEWER])

    with django_assert_max_num_queries(14):
        response = client.get(history_url())

    assert len(response.context["events"]) == 75


def test_the_prompt_page_links_to_its_timeline(login_as, members, story):
    response = login_as(members[Role.VIEWER]).get(
        reverse("prompt-detail", args=["acme", "greeting/hello"])
    )

    assert f'<a href="{history_url()}">History</a>' in response.content.decode()
