"""The audit log page and its CSV export: sources, actors, filters, tenancy."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prompts import services as prompt_services
from prompts.models import Comment, LabelMove, PromptVersion
from prompts.services.comments import comment_add, comment_delete, comment_resolve
from prompts.services.grants import (
    folder_grant_remove,
    folder_grant_set,
    prompt_grant_remove,
    prompt_grant_set,
)
from prompts.services.reviews import review_decide, review_request
from tests.conftest import make_member
from workbench import audit, services
from workbench.models import Role, Webhook

pytestmark = pytest.mark.django_db


def url(name, project):
    return reverse(name, args=[project.slug])


def rows(response):
    """``[(who, action, prompt, description)]`` of the page, newest first."""
    return [
        (entry.actor_name, entry.action, entry.prompt_name, entry.description)
        for entry in response.context["entries"]
    ]


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def history(project, members):
    """One of everything, each by the member whose role allows it."""
    admin, editor = members[Role.ADMIN], members[Role.EDITOR]
    approver, reviewer = members[Role.APPROVER], members[Role.REVIEWER]
    v1 = prompt_services.version_create(
        project=project,
        name="quiz/generator",
        content="Ask about {{topic}}",
        commit_message="First draft",
        actor=editor,
    )
    review_request(version=v1, actor=editor, message="Please check the tone")
    comment = comment_add(version=v1, actor=reviewer, body="Too formal?")
    comment_resolve(comment=comment, actor=editor)
    review_decide(version=v1, actor=approver, decision="approve", body="Fine")
    prompt_services.label_move(
        prompt=v1.prompt, label="production", version_number=1, actor=approver
    )
    grant = folder_grant_set(
        project=project,
        user=members[Role.VIEWER],
        prefix="quiz/",
        role=Role.REVIEWER,
        actor=admin,
    )
    folder_grant_remove(grant=grant, actor=admin)
    prompt_grant_set(
        prompt=v1.prompt, user=members[Role.VIEWER], role=Role.APPROVER, actor=admin
    )
    prompt_grant_remove(prompt=v1.prompt, user=members[Role.VIEWER], actor=admin)
    guest = make_member(project, Role.VIEWER, username="guest")
    membership = guest.memberships.get()
    services.member_role_set(membership=membership, role=Role.EDITOR, actor=admin)
    services.member_remove(membership=membership, actor=admin)
    api_key, _ = services.api_key_create(project=project, note="svc", actor=admin)
    services.api_key_revoke(api_key=api_key, actor=admin)
    Webhook.objects.create(
        project=project, url="https://hooks.example.com/x", created_by=admin
    )
    services.project_settings_update(
        project=project,
        name="Acme",
        naming_rule="",
        protected_labels=["production"],
        required_approvals=2,
        author_approval_counts=False,
        actor=admin,
    )
    return {"version": v1, "comment": comment, "api_key": api_key}


# Access per role ------------------------------------------------------------


@pytest.mark.parametrize("page", ["audit-log", "audit-csv"])
def test_anonymous_visitors_are_sent_to_log_in(client, project, page):
    response = client.get(url(page, project))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("page", ["audit-log", "audit-csv"])
def test_outsiders_and_other_projects_admins_get_a_404(
    login_as, project, outsider, other_member, page
):
    assert login_as(outsider).get(url(page, project)).status_code == 404
    assert login_as(other_member).get(url(page, project)).status_code == 404


@pytest.mark.parametrize("role", Role.values)
def test_every_member_reads_the_log(login_as, members, project, role):
    page = login_as(members[role]).get(url("audit-log", project))
    export = login_as(members[role]).get(url("audit-csv", project))

    assert page.status_code == 200
    assert page.context["section"] == "audit"
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"


# What it shows ----------------------------------------------------------------


def test_it_shows_every_source_with_its_actor(login_as, members, project, history):
    response = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    found = rows(response)
    expected = [
        (
            "acme-admin",
            "project settings changed",
            None,
            "protected labels: none → production; approvals required: 1 → 2",
        ),
        ("acme-admin", "webhook added", None, "https://hooks.example.com/x"),
        ("acme-admin", "api key revoked", None, None),
        ("acme-admin", "api key created", None, None),
        ("acme-admin", "member removed", None, "guest (was editor) removed"),
        ("acme-admin", "member role changed", None, "guest: viewer → editor"),
        ("", "member added", None, "guest joined as viewer"),
        (
            "acme-admin",
            "folder grant removed",
            None,
            "acme-viewer as reviewer on prompts starting with quiz/",
        ),
        (
            "acme-admin",
            "folder grant added",
            None,
            "acme-viewer as reviewer on prompts starting with quiz/",
        ),
        (
            "acme-admin",
            "prompt grant removed",
            "quiz/generator",
            "acme-viewer as approver on this prompt",
        ),
        (
            "acme-admin",
            "prompt grant added",
            "quiz/generator",
            "acme-viewer as approver on this prompt",
        ),
        ("acme-approver", "label moved", "quiz/generator", "production set on v1"),
        ("acme-approver", "version approved", "quiz/generator", "v1: Fine"),
        ("acme-editor", "comment resolved", "quiz/generator", "v1: Too formal?"),
        ("acme-reviewer", "comment added", "quiz/generator", "v1: Too formal?"),
        (
            "acme-editor",
            "review requested",
            "quiz/generator",
            "v1: Please check the tone",
        ),
        ("acme-editor", "version created", "quiz/generator", "v1: First draft"),
        ("acme-editor", "prompt created", "quiz/generator", "text prompt"),
    ]
    for who, action, prompt, description in expected:
        assert any(
            row[:3] == (who, action, prompt)
            and (description is None or row[3] == description)
            for row in found
        ), (who, action, prompt, description)
    key = history["api_key"]
    assert (
        "acme-admin",
        "api key revoked",
        None,
        f"{key.public_key} {key.secret_hint} (svc)",
    ) in found
    assert found[0][1] == "project settings changed"


def test_it_lists_newest_first_across_sources(login_as, members, project, history):
    response = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    times = [entry.at for entry in response.context["entries"]]
    assert times == sorted(times, reverse=True)


def test_actions_done_through_the_pages_name_the_person(login_as, members, project):
    client = login_as(members[Role.ADMIN])
    client.post(url("member-role", project), {"user": "acme-viewer", "role": "editor"})
    client.post(url("api-key-create", project), {"note": "web"})

    response = client.get(url("audit-log", project))

    assert [row[:3] for row in rows(response)[:2]] == [
        ("acme-admin", "api key created", None),
        ("acme-admin", "member role changed", None),
    ]
    assert rows(response)[1][3] == "acme-viewer: viewer → editor"


def test_comment_edits_and_deletions_read_as_such(login_as, members, project):
    version = prompt_services.version_create(project=project, name="p", content="x")
    comment = comment_add(version=version, actor=members[Role.REVIEWER], body="Hm")
    comment_resolve(comment=comment, actor=members[Role.EDITOR])
    comment_resolve(comment=comment, actor=members[Role.EDITOR], resolved=False)
    comment_delete(comment=Comment.objects.get(), actor=members[Role.REVIEWER])

    response = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    assert [row[:2] for row in rows(response) if "comment" in row[1]] == [
        ("acme-reviewer", "comment deleted"),
        ("acme-reviewer", "comment reopened"),
        ("acme-editor", "comment resolved"),
        ("acme-reviewer", "comment added"),
    ]


def test_latest_moves_are_left_to_the_version_rows(login_as, members, project):
    prompt_services.version_create(project=project, name="p", content="x")
    prompt_services.version_create(project=project, name="p", content="y")

    response = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    assert [row[1] for row in rows(response) if row[2]] == [
        "version created",
        "version created",
        "prompt created",
    ]
    assert rows(response)[0][0] == "system"


def test_a_deleted_prompt_is_named_but_not_linked(login_as, members, project):
    prompt_services.version_create(project=project, name="gone", content="x")
    prompt_services.prompt_delete(project=project, name="gone")

    response = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    html = response.content.decode()
    assert rows(response)[0][1:] == (
        "prompt deleted",
        "gone",
        "gone and all its versions deleted",
    )
    assert reverse("prompt-detail", args=[project.slug, "gone"]) not in html


def test_prompt_text_in_the_log_renders_inert(login_as, members, project):
    prompt_services.version_create(
        project=project,
        name="x",
        content="y",
        commit_message="<img src=x onerror=alert(1)>",
    )

    html = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    assert "<img src=x" not in html.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html.content.decode()


# Tenancy ------------------------------------------------------------------------


@pytest.fixture
def other_history(other_project, other_member):
    prompt_services.version_create(
        project=other_project, name="quiz/secret", content="x", actor=other_member
    )
    make_member(other_project, Role.VIEWER, username="globex-viewer")
    services.api_key_create(project=other_project, note="theirs", actor=other_member)
    folder_grant_set(
        project=other_project,
        user=other_member,
        prefix="quiz/",
        role=Role.ADMIN,
        actor=other_member,
    )
    services.project_settings_update(
        project=other_project,
        name="Globex 2",
        naming_rule="",
        protected_labels=[],
        required_approvals=3,
        author_approval_counts=True,
        actor=other_member,
    )


def test_another_projects_rows_never_appear(
    login_as, members, project, history, other_history
):
    client = login_as(members[Role.ADMIN])

    page = client.get(url("audit-log", project))
    export = client.get(url("audit-csv", project))
    by_them = client.get(url("audit-log", project), {"person": "globex-admin"})

    html = page.content.decode()
    body = "".join(",".join(row) for row in csv_rows(export))
    for text in ("globex", "Globex", "quiz/secret", "theirs"):
        assert text not in html
        assert text not in body
    assert rows(by_them) == []


def test_the_other_project_sees_only_its_own(
    login_as, other_member, history, other_history
):
    from workbench.models import Project

    globex = Project.objects.get(slug="globex")

    response = login_as(other_member).get(url("audit-log", globex))

    found = rows(response)
    assert {row[0] for row in found} <= {"globex-admin", ""}
    assert "quiz/generator" not in {row[2] for row in found}
    assert ("globex-admin", "version created", "quiz/secret", "v1") in found


# Filters ------------------------------------------------------------------------


def test_it_filters_by_person(login_as, members, project, history):
    response = login_as(members[Role.VIEWER]).get(
        url("audit-log", project), {"person": "acme-approver"}
    )

    assert [row[1] for row in rows(response)] == ["label moved", "version approved"]


def test_it_filters_by_prompt_name(login_as, members, project, history):
    prompt_services.version_create(
        project=project, name="hr/screening", content="x", actor=members[Role.EDITOR]
    )

    response = login_as(members[Role.VIEWER]).get(
        url("audit-log", project), {"prompt": "SCREEN"}
    )

    assert [row[1:3] for row in rows(response)] == [
        ("version created", "hr/screening"),
        ("prompt created", "hr/screening"),
    ]


def test_it_filters_by_action(login_as, members, project, history):
    response = login_as(members[Role.VIEWER]).get(
        url("audit-log", project), {"action": "member role changed"}
    )

    assert rows(response) == [
        ("acme-admin", "member role changed", None, "guest: viewer → editor")
    ]


def test_it_filters_by_dates(login_as, members, project):
    old = prompt_services.version_create(project=project, name="old", content="x")
    prompt_services.version_create(project=project, name="fresh", content="x")
    long_ago = timezone.make_aware(datetime(2024, 3, 10, 23, 30))
    PromptVersion.objects.filter(pk=old.pk).update(created_at=long_ago)
    old.prompt.history.update(history_date=long_ago - timedelta(seconds=1))

    client = login_as(members[Role.VIEWER])
    on_the_day = client.get(
        url("audit-log", project), {"from": "2024-03-10", "to": "2024-03-10"}
    )
    after = client.get(url("audit-log", project), {"from": "2024-03-11"})

    assert [row[1:3] for row in rows(on_the_day)] == [
        ("version created", "old"),
        ("prompt created", "old"),
    ]
    assert {row[2] for row in rows(after) if row[2]} == {"fresh"}


def test_bad_filter_values_are_named_and_ignored(login_as, members, project, history):
    response = login_as(members[Role.VIEWER]).get(
        url("audit-log", project),
        {"from": "yesterday", "action": "hacked", "person": "ghost"},
    )

    assert response.context["problems"] == [
        "'hacked' is not an action; it is ignored.",
        "Nobody has the user name 'ghost'.",
        "'yesterday' is not a date (YYYY-MM-DD); from is ignored.",
    ]
    assert rows(response) == []


def test_the_filter_form_offers_every_action(login_as, members, project):
    html = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    for action in audit.ACTIONS:
        assert f'<option value="{action}">' in html.content.decode()


# Paging ---------------------------------------------------------------------------


def test_it_pages_fifty_rows_at_a_time(
    login_as, members, project, django_assert_max_num_queries
):
    version = prompt_services.version_create(project=project, name="p", content="x")
    start = timezone.now() - timedelta(hours=1)
    LabelMove.objects.bulk_create(
        LabelMove(
            prompt=version.prompt,
            label="staging",
            from_version=1,
            to_version=1,
            moved_by_name=f"bot-{index}",
        )
        for index in range(60)
    )
    for index, move in enumerate(LabelMove.objects.order_by("id")):
        LabelMove.objects.filter(pk=move.pk).update(
            moved_at=start + timedelta(seconds=index)
        )
    client = login_as(members[Role.VIEWER])

    with django_assert_max_num_queries(20):
        first = client.get(url("audit-log", project), {"prompt": "p"})
    second = client.get(url("audit-log", project), {"prompt": "p", "page": "2"})

    assert len(first.context["entries"]) == 50
    assert first.context["older_query"] == "prompt=p&page=2"
    assert [row[0] for row in rows(first)[2:4]] == ["bot-59", "bot-58"]
    assert len(second.context["entries"]) == 12
    assert second.context["older_query"] is None
    assert second.context["newer_query"] == "prompt=p"
    assert [row[0] for row in rows(second)[:2]] == ["bot-11", "bot-10"]
    assert rows(second)[-1][0] == "bot-0"


def test_paging_keeps_the_filters(login_as, members, project):
    version = prompt_services.version_create(project=project, name="p", content="x")
    LabelMove.objects.bulk_create(
        LabelMove(prompt=version.prompt, label="dev", to_version=1, moved_by_name="b")
        for _ in range(55)
    )

    response = login_as(members[Role.VIEWER]).get(
        url("audit-log", project), {"action": "label moved"}
    )

    assert response.context["older_query"] == "action=label+moved&page=2"
    assert 'href="?action=label+moved&amp;page=2"' in response.content.decode()


# CSV export ---------------------------------------------------------------------


def test_the_export_has_the_header_and_the_same_rows(
    login_as, members, project, history
):
    client = login_as(members[Role.VIEWER])
    page = client.get(url("audit-log", project))

    export = client.get(url("audit-csv", project))

    assert export.streaming
    assert 'attachment; filename="audit-acme-' in export["Content-Disposition"]
    header, *body = csv_rows(export)
    assert header == ["time_utc", "person", "action", "prompt", "description"]
    assert [row[1:] for row in body] == [
        [who, action, prompt or "", description]
        for who, action, prompt, description in rows(page)
    ]
    assert body[0][0] == page.context["entries"][0].at.isoformat()


def test_the_export_follows_the_filters(login_as, members, project, history):
    export = login_as(members[Role.VIEWER]).get(
        url("audit-csv", project), {"person": "acme-approver", "prompt": "quiz"}
    )

    assert [row[1:3] for row in csv_rows(export)[1:]] == [
        ["acme-approver", "label moved"],
        ["acme-approver", "version approved"],
    ]


def test_the_export_is_not_paged(login_as, members, project):
    version = prompt_services.version_create(project=project, name="p", content="x")
    LabelMove.objects.bulk_create(
        LabelMove(prompt=version.prompt, label="dev", to_version=1, moved_by_name="b")
        for _ in range(120)
    )

    export = login_as(members[Role.VIEWER]).get(
        url("audit-csv", project), {"prompt": "p"}
    )

    assert len(csv_rows(export)) == 1 + 120 + 2


def test_the_export_defuses_spreadsheet_formulas(login_as, members, project):
    prompt_services.version_create(project=project, name="=HYPERLINK(1)", content="x")

    export = login_as(members[Role.VIEWER]).get(url("audit-csv", project))

    prompts = [row[3] for row in csv_rows(export)[1:] if row[3]]
    assert prompts == ["'=HYPERLINK(1)"] * 2


def test_the_page_links_the_export_with_its_filters(login_as, members, project):
    html = login_as(members[Role.VIEWER]).get(
        url("audit-log", project), {"prompt": "quiz", "page": "3"}
    )

    assert f'href="{url("audit-csv", project)}?prompt=quiz"' in html.content.decode()


def test_the_action_filter_and_the_rows_spell_api_in_capitals(
    login_as, members, project
):
    services.api_key_create(project=project, note="ci", actor=members[Role.ADMIN])

    response = login_as(members[Role.VIEWER]).get(url("audit-log", project))

    html = response.content.decode()
    assert '<option value="api key created">API key created</option>' in html
    assert '<span class="audit-action">API key created</span>' in html
    assert "Api key" not in html
    assert rows(response)[0][1] == "api key created"
