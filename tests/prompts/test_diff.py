"""Version diffs: the pure line and word diff, and the diff page per role."""

import pytest
from django.urls import reverse

from prompts.diffing import (
    DELETE,
    EQUAL,
    INSERT,
    REPLACE,
    Piece,
    line_rows,
    message_diffs,
    pretty_json,
    version_diff,
    word_diff,
)
from prompts.models import Prompt
from workbench.models import Role

from .test_editing_pages import csv_prompt

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def html_rows(rows):
    return [(row.kind, row.left_html, row.right_html) for row in rows]


# Word diff


def test_it_marks_only_the_changed_word():
    assert word_diff("Write 5 questions", "Write 7 questions") == (
        [Piece("Write "), Piece("5", True), Piece(" questions")],
        [Piece("Write "), Piece("7", True), Piece(" questions")],
    )


def test_it_marks_an_inserted_phrase_on_the_new_side_only():
    assert word_diff("Be brief.", "Be very brief.") == (
        [Piece("Be brief.")],
        [Piece("Be "), Piece("very ", True), Piece("brief.")],
    )


def test_a_variable_is_one_word():
    left, right = word_diff("Hi {{name}}!", "Hi {{ first_name }}!")

    assert left == [Piece("Hi "), Piece("{{name}}", True), Piece("!")]
    assert right == [Piece("Hi "), Piece("{{ first_name }}", True), Piece("!")]


def test_unrelated_phrases_read_as_one_change_not_word_confetti():
    assert word_diff("a b c", "x y z") == (
        [Piece("a b c", True)],
        [Piece("x y z", True)],
    )


# Line diff


def test_equal_replaced_deleted_and_inserted_lines():
    rows = line_rows(
        "Intro\nWrite {{count}} questions.\nOld tail\nGone",
        "Intro\nWrite {{count}} hard questions.\nNew tail\nGone too\nExtra",
    )

    assert html_rows(rows) == [
        (EQUAL, "Intro", "Intro"),
        (
            REPLACE,
            "Write {{count}} questions.",
            "Write {{count}} <ins>hard </ins>questions.",
        ),
        (REPLACE, "<del>Old</del> tail", "<ins>New</ins> tail"),
        (REPLACE, "Gone", "Gone<ins> too</ins>"),
        (INSERT, "", "<ins>Extra</ins>"),
    ]
    assert [(row.left and row.left.number, row.right.number) for row in rows] == [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 4),
        (None, 5),
    ]


def test_a_removed_line_is_shown_whole_on_the_old_side():
    rows = line_rows("Keep\nDrop me\nKeep too", "Keep\nKeep too")

    assert html_rows(rows) == [
        (EQUAL, "Keep", "Keep"),
        (DELETE, "<del>Drop me</del>", ""),
        (EQUAL, "Keep too", "Keep too"),
    ]


def test_highlighted_html_escapes_the_text():
    rows = line_rows("Say <b>hi</b> & bye", f"Say {SCRIPT} & bye")

    assert html_rows(rows) == [
        (
            REPLACE,
            "Say <del>&lt;b&gt;hi&lt;/b&gt;</del> &amp; bye",
            f"Say <ins>{ESCAPED_SCRIPT}</ins> &amp; bye",
        )
    ]


def test_empty_texts_have_no_rows():
    assert line_rows("", "") == []


# Chat and config


def test_chat_messages_pair_by_position():
    old = [
        {"role": "system", "content": "Be brief."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "Q"},
    ]
    new = [
        {"role": "developer", "content": "Be very brief."},
        {"type": "placeholder", "name": "history"},
    ]

    diffs = message_diffs(old, new)

    assert [(diff.status, diff.role_changed) for diff in diffs] == [
        ("changed", True),
        ("same", False),
        ("removed", False),
    ]
    assert html_rows(diffs[0].rows) == [
        (REPLACE, "Be brief.", "Be <ins>very </ins>brief.")
    ]
    assert html_rows(diffs[2].rows) == [(DELETE, "<del>Q</del>", "")]


def test_an_added_message_is_shown_whole():
    (diff,) = message_diffs([], [{"role": "user", "content": "Hello\nthere"}])

    assert diff.status == "added"
    assert diff.new_role == "user"
    assert html_rows(diff.rows) == [
        (INSERT, "", "<ins>Hello</ins>"),
        (INSERT, "", "<ins>there</ins>"),
    ]


def test_the_config_is_diffed_as_sorted_pretty_json():
    diff = version_diff(
        "same",
        "same",
        {"model": "gpt-4o", "temperature": 0.2},
        {"temperature": 0.7, "model": "gpt-4o", "max_tokens": 100},
    )

    assert not diff.content_changed
    assert diff.config_changed
    assert html_rows(diff.config_rows) == [
        (EQUAL, "{", "{"),
        (INSERT, "", "<ins>  &quot;max_tokens&quot;: 100,</ins>"),
        (EQUAL, *["  &quot;model&quot;: &quot;gpt-4o&quot;,"] * 2),
        (
            REPLACE,
            "  &quot;temperature&quot;: <del>0.2</del>",
            "  &quot;temperature&quot;: <ins>0.7</ins>",
        ),
        (EQUAL, "}", "}"),
    ]


def test_key_order_alone_is_no_change():
    assert pretty_json({"b": 1, "a": 2}) == pretty_json({"a": 2, "b": 1})
    assert not version_diff("x", "x", {"b": 1, "a": 2}, {"a": 2, "b": 1}).config_changed


# The page


@pytest.fixture
def quiz(make_version, members):
    make_version(
        name="quiz/maker",
        content="Write {{count}} questions.",
        config={"temperature": 0.2},
        commit_message="First draft",
    )
    make_version(
        name="quiz/maker",
        content="Write {{count}} hard questions.",
        config={"temperature": 0.2},
        commit_message="Harder",
        actor=members[Role.EDITOR],
    )
    make_version(
        name="quiz/maker",
        content=f"Write {{{{count}}}} hard questions. {SCRIPT} <b>",
        config={"temperature": 0.7},
        commit_message=f"Warmer {SCRIPT}",
        actor=members[Role.APPROVER],
    )
    return Prompt.objects.get(name="quiz/maker")


def diff_url(project, name, query=""):
    return reverse("prompt-diff", args=[project.slug, name]) + query


def test_it_redirects_anonymous_users_to_login(client, project, quiz):
    response = client.get(diff_url(project, quiz.name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_non_members_get_a_404(request, login_as, project, quiz, who):
    client = login_as(request.getfixturevalue(who))

    assert client.get(diff_url(project, quiz.name)).status_code == 404


@pytest.mark.parametrize("role", Role.values)
def test_every_member_may_read_the_diff(login_as, project, members, quiz, role):
    response = login_as(members[role]).get(diff_url(project, quiz.name))

    assert response.status_code == 200


def test_by_default_the_latest_is_compared_with_the_one_before(
    login_as, project, members, quiz
):
    response = login_as(members[Role.VIEWER]).get(diff_url(project, quiz.name))

    page = response.content.decode()
    assert response.context["old"].number == 2
    assert response.context["new"].number == 3
    assert "Harder" in page
    assert f"Warmer {ESCAPED_SCRIPT}" in page
    assert f"by {members[Role.EDITOR].username}" in page
    assert f"by {members[Role.APPROVER].username}" in page
    assert f"questions.<ins> {ESCAPED_SCRIPT} &lt;b&gt;</ins>" in page
    assert "<del>0.2</del>" in page
    assert "<ins>0.7</ins>" in page


def test_to_alone_compares_with_the_version_before_it(login_as, project, members, quiz):
    response = login_as(members[Role.VIEWER]).get(diff_url(project, quiz.name, "?to=2"))

    assert (response.context["old"].number, response.context["new"].number) == (1, 2)
    assert "{{count}} <ins>hard </ins>questions." in response.content.decode()


def test_any_two_versions_can_be_compared(login_as, project, members, quiz):
    response = login_as(members[Role.VIEWER]).get(
        diff_url(project, quiz.name, "?from=3&to=1")
    )

    page = response.content.decode()
    assert (response.context["old"].number, response.context["new"].number) == (3, 1)
    assert '<option value="3" selected>v3: Warmer' in page
    assert '<option value="1" selected>v1: First draft</option>' in page
    assert "by system" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=abc", "&#x27;abc&#x27; is not a version number"),
        ("?to=1.5", "&#x27;1.5&#x27; is not a version number"),
        ("?from=9", "There is no version 9 (from)."),
        ("?from=1&to=0", "There is no version 0 (to)."),
    ],
)
def test_an_unknown_version_is_a_404_that_says_which(
    login_as, project, members, quiz, query, message
):
    response = login_as(members[Role.VIEWER]).get(diff_url(project, quiz.name, query))

    assert response.status_code == 404
    assert "Version not found" in response.content.decode()
    assert message in response.content.decode()


def test_an_unknown_prompt_is_a_404(login_as, project, members, quiz):
    response = login_as(members[Role.VIEWER]).get(diff_url(project, "quiz/nope"))

    assert response.status_code == 404


def test_a_single_version_prompt_says_there_is_nothing_to_compare(
    login_as, project, members, make_version
):
    make_version(name="solo", content="Only me")

    response = login_as(members[Role.VIEWER]).get(diff_url(project, "solo"))

    assert response.status_code == 200
    assert "only one version" in response.content.decode()


def test_chat_versions_are_diffed_message_by_message(
    login_as, project, members, make_version
):
    make_version(
        name="bot",
        type="chat",
        content=[{"role": "system", "content": "Be brief."}],
    )
    make_version(
        name="bot",
        type="chat",
        content=[
            {"role": "system", "content": "Be very brief."},
            {"role": "user", "content": SCRIPT},
        ],
    )

    page = login_as(members[Role.VIEWER]).get(diff_url(project, "bot")).content.decode()

    assert "Be <ins>very </ins>brief." in page
    assert "Message 2:" in page
    assert "added" in page
    assert f"<ins>{ESCAPED_SCRIPT}</ins>" in page
    assert SCRIPT not in page


def test_csv_prompt_html_is_inert_on_the_diff_page(
    login_as, project, members, make_version
):
    text = csv_prompt("Integrity & Compliance Officer Audit Protocol")
    make_version(name="audit", content=text)
    make_version(name="audit", content=text.replace("2.0", "2.1") + f"\n{SCRIPT}")

    page = (
        login_as(members[Role.VIEWER]).get(diff_url(project, "audit")).content.decode()
    )

    assert "<system_configuration>" not in page
    assert "&lt;system_configuration&gt;" in page
    assert "<del>&lt;version&gt;2.0&lt;/version&gt;</del>" in page
    assert "<ins>&lt;version&gt;2.1&lt;/version&gt;</ins>" in page
    assert SCRIPT not in page


def test_the_version_and_detail_pages_link_to_the_diff(
    login_as, project, members, quiz
):
    client = login_as(members[Role.VIEWER])
    version_page = client.get(
        reverse("prompt-version", args=[project.slug, quiz.name, 3])
    ).content.decode()
    first_page = client.get(
        reverse("prompt-version", args=[project.slug, quiz.name, 1])
    ).content.decode()
    detail_page = client.get(
        reverse("prompt-detail", args=[project.slug, quiz.name])
    ).content.decode()

    assert f'href="{diff_url(project, quiz.name)}?from=2&amp;to=3"' in version_page
    assert "Compare with previous" not in first_page
    assert f'href="{diff_url(project, quiz.name)}?to=3"' in detail_page
    assert f'href="{diff_url(project, quiz.name)}?to=2"' in detail_page
    assert f'href="{diff_url(project, quiz.name)}?to=1"' not in detail_page
