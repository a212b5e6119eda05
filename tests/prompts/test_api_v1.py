"""The native prompt API (/api/v1/projects/<slug>/...): every endpoint per
persona, the review workflow end to end, and tenant isolation."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from guardian.models import UserObjectPermission

from prompts import services
from prompts.models import (
    Comment,
    FolderGrant,
    Label,
    LabelMove,
    Prompt,
    PromptVersion,
    Review,
    ReviewRequest,
    ReviewStatus,
)
from prompts.services.comments import comment_add, comment_resolve
from prompts.services.grants import folder_grant_set, prompt_grant_set
from prompts.services.reviews import review_decide, review_request
from tests.conftest import make_member
from tests.native_api import (
    ANONYMOUS,
    PERSONAS,
    assert_error,
    expected_refusal,
    persona_client,
    token_client,
)
from workbench.models import Role

from .conftest import prompt_path

pytestmark = pytest.mark.django_db

V1 = "/api/v1/projects"
NAME = "team/greeting"


@dataclass
class World:
    """The project under test, one prompt in review, and things to act on."""

    project: object
    members: dict
    extra: object
    prompt: object
    v1: object
    v2: object
    comment: object
    folder_grant: object
    foreign_prompt: object

    def prompt_url(self, suffix=""):
        return f"{V1}/acme/prompts/{self.prompt.pk}/{suffix}"

    def version_url(self, number, suffix=""):
        return self.prompt_url(f"versions/{number}/{suffix}")

    def comment_url(self, suffix=""):
        return self.prompt_url(f"comments/{self.comment.pk}/{suffix}")


@pytest.fixture
def world(project, members, other_project, other_member):
    editor, reviewer = members[Role.EDITOR], members[Role.REVIEWER]
    extra = make_member(project, Role.VIEWER, username="acme-extra")
    v1 = services.version_create(
        project=project,
        name=NAME,
        content="Hello {{name}}\nBye",
        labels=["staging", "beta"],
        commit_message="first",
        actor=editor,
    )
    v2 = services.version_create(
        project=project,
        name=NAME,
        content="Hi {{name}}\nBye",
        commit_message="second",
        actor=editor,
    )
    # beta has moved, so it can roll back to v1.
    services.label_move(prompt=v2.prompt, label="beta", version_number=2, actor=editor)
    review_request(version=v2, actor=editor)
    comment = comment_add(version=v1, actor=reviewer, body="Why bye?", line=2)
    prompt_grant_set(prompt=v1.prompt, user=extra, role=Role.REVIEWER, actor=None)
    folder_grant = folder_grant_set(
        project=project, user=extra, prefix="team/", role=Role.REVIEWER, actor=None
    )
    foreign = services.version_create(
        project=other_project, name=NAME, content="Globex secret", commit_message="g"
    )
    return World(
        project=project,
        members=members,
        extra=extra,
        prompt=v1.prompt,
        v1=v1,
        v2=v2,
        comment=comment,
        folder_grant=folder_grant,
        foreign_prompt=foreign.prompt,
    )


def registry_state():
    """Everything an endpoint of this API could change, comparable with ==."""
    return {
        "prompts": sorted(Prompt.objects.values_list("project__slug", "name")),
        "versions": sorted(
            PromptVersion.objects.values_list(
                "prompt__name", "prompt__project__slug", "number", "review_status"
            )
        ),
        "labels": sorted(
            Label.objects.values_list(
                "prompt__project__slug", "name", "version__number"
            )
        ),
        "moves": LabelMove.objects.count(),
        "comments": sorted(
            Comment.objects.values_list("id", "body", "resolved_at", "deleted_at")
        ),
        "requests": sorted(ReviewRequest.objects.values_list("id", "closed_at")),
        "reviews": Review.objects.count(),
        "grants": sorted(
            UserObjectPermission.objects.values_list(
                "user__username", "permission__codename", "object_pk"
            )
        ),
        "folder_grants": sorted(
            FolderGrant.objects.values_list("user__username", "prefix", "role")
        ),
    }


def persona(name, world, outsider, other_member):
    return persona_client(
        name, members=world.members, outsider=outsider, other_member=other_member
    )


# The role x endpoint matrix ---------------------------------------------------

VIEWERS = set(Role.values)
REVIEWERS = VIEWERS - {Role.VIEWER}
EDITORS = REVIEWERS - {Role.REVIEWER}
APPROVERS = EDITORS - {Role.EDITOR}
ADMINS = {Role.ADMIN}


@dataclass
class Case:
    id: str
    method: str
    path: object
    allowed: set
    status: int = 200
    body: object = None
    check: object = None


def _listed_names(world, response):
    assert [row["name"] for row in response.json()["data"]] == [NAME]
    assert response.json()["meta"]["totalItems"] == 1


def _prompt_detail(world, response):
    body = response.json()
    assert body["id"] == str(world.prompt.pk)
    assert body["folder"] == "team"
    assert body["latestVersion"] == 2
    assert body["reviewStatus"] == ReviewStatus.IN_REVIEW
    assert {(label["name"], label["version"]) for label in body["labels"]} == {
        ("latest", 2),
        ("staging", 1),
        ("beta", 2),
    }


def _prompt_created(world, response):
    created = Prompt.objects.get(project=world.project, name="team/new")
    assert response.json()["promptId"] == str(created.pk)
    assert created.versions.get().content == "Hi"


def _version_list(world, response):
    rows = response.json()["data"]
    assert [row["number"] for row in rows] == [2, 1]
    assert rows[1]["labels"] == ["staging"]
    assert rows[0]["reviewStatus"] == ReviewStatus.IN_REVIEW


def _version_created(world, response):
    version = world.prompt.versions.get(number=3)
    assert version.content == "Hey {{name}}"
    assert version.commit_message == "third"
    assert response.json()["labels"] == ["latest"]


def _one_version(world, response):
    assert response.json()["prompt"] == "Hello {{name}}\nBye"
    assert response.json()["variables"] == ["name"]


def _threads(world, response):
    (thread,) = response.json()["data"]
    assert thread["body"] == "Why bye?"
    assert thread["line"] == 2
    assert thread["replies"] == []


def _comment_added(world, response):
    comment = Comment.objects.get(pk=response.json()["id"])
    assert comment.body == "Looks good"
    assert comment.version == world.v1


def _comment_edited(world, response):
    world.comment.refresh_from_db()
    assert world.comment.body == "Why goodbye?"
    assert world.comment.edited_at is not None


def _comment_deleted(world, response):
    world.comment.refresh_from_db()
    assert world.comment.deleted_at is not None
    assert world.comment.body == ""


def _comment_resolved(world, response):
    world.comment.refresh_from_db()
    assert world.comment.resolved_at is not None
    assert response.json()["resolvedBy"] is not None


def _comment_reopened(world, response):
    world.comment.refresh_from_db()
    assert world.comment.resolved_at is None


def _reviews_listed(world, response):
    (request,) = response.json()["requests"]
    assert request["open"] is True
    assert request["requestedBy"] == world.members[Role.EDITOR].username
    assert response.json()["decisions"] == []


def _review_requested(world, response):
    request = ReviewRequest.objects.get(pk=response.json()["id"])
    assert request.message == "please"
    assert response.json()["reviewers"] == [world.members[Role.APPROVER].username]
    assert ReviewRequest.objects.filter(version=world.v2, closed_at=None).count() == 1


def _approved(world, response):
    world.v2.refresh_from_db()
    assert world.v2.review_status == ReviewStatus.APPROVED
    assert response.json()["version"]["reviewStatus"] == ReviewStatus.APPROVED


def _changes_requested(world, response):
    world.v2.refresh_from_db()
    assert world.v2.review_status == ReviewStatus.CHANGES_REQUESTED


def _staging_moved(world, response):
    assert Label.objects.get(prompt=world.prompt, name="staging").version == world.v2
    assert response.json()["fromVersion"] == 1
    assert response.json()["toVersion"] == 2


def _beta_rolled_back(world, response):
    assert Label.objects.get(prompt=world.prompt, name="beta").version == world.v1


def _history(world, response):
    kinds = [event["kind"] for event in response.json()["data"]]
    assert kinds[0] == "comment"
    assert set(kinds) == {"version", "label_move", "review_request", "comment"}


def _grants_listed(world, response):
    assert response.json()["data"] == [
        {
            "user": "acme-extra",
            "role": Role.REVIEWER,
            "promptId": str(world.prompt.pk),
            "promptName": NAME,
        }
    ]


def _grant_set(world, response):
    perms = UserObjectPermission.objects.filter(user=world.extra)
    assert list(perms.values_list("permission__codename", flat=True)) == ["edit_prompt"]


def _grant_removed(world, response):
    assert not UserObjectPermission.objects.filter(user=world.extra).exists()


def _folder_grants_listed(world, response):
    (grant,) = response.json()["data"]
    assert (grant["user"], grant["prefix"], grant["role"]) == (
        "acme-extra",
        "team/",
        Role.REVIEWER,
    )


def _folder_grant_set(world, response):
    grant = FolderGrant.objects.get(prefix="docs/")
    assert (grant.user, grant.role) == (world.extra, Role.EDITOR)


def _folder_grant_removed(world, response):
    assert not FolderGrant.objects.exists()


CASES = [
    Case("list prompts", "GET", lambda w: f"{V1}/acme/prompts/", VIEWERS,
         check=_listed_names),
    Case("get a prompt", "GET", lambda w: w.prompt_url(), VIEWERS,
         check=_prompt_detail),
    Case("create a prompt", "POST", lambda w: f"{V1}/acme/prompts/", EDITORS, 201,
         {"name": "team/new", "prompt": "Hi", "commitMessage": "new"},
         _prompt_created),
    Case("list versions", "GET", lambda w: w.prompt_url("versions/"), VIEWERS,
         check=_version_list),
    Case("create a version", "POST", lambda w: w.prompt_url("versions/"), EDITORS,
         201, {"prompt": "Hey {{name}}", "commitMessage": "third"},
         _version_created),
    Case("get a version", "GET", lambda w: w.version_url(1), VIEWERS,
         check=_one_version),
    Case("list comments", "GET", lambda w: w.version_url(1, "comments/"), VIEWERS,
         check=_threads),
    Case("add a comment", "POST", lambda w: w.version_url(1, "comments/"),
         REVIEWERS, 201, {"body": "Looks good"}, _comment_added),
    Case("edit a comment", "PATCH", lambda w: w.comment_url(), {Role.REVIEWER},
         body={"body": "Why goodbye?"}, check=_comment_edited),
    Case("delete a comment", "DELETE", lambda w: w.comment_url(), {Role.REVIEWER},
         204, check=_comment_deleted),
    Case("resolve a thread", "POST", lambda w: w.comment_url("resolve/"), REVIEWERS,
         check=_comment_resolved),
    Case("reopen a thread", "POST", lambda w: w.comment_url("reopen/"), REVIEWERS,
         check=_comment_reopened),
    Case("list reviews", "GET", lambda w: w.version_url(2, "review-requests/"),
         VIEWERS, check=_reviews_listed),
    Case("request review", "POST", lambda w: w.version_url(2, "review-requests/"),
         EDITORS, 201, {"reviewers": ["acme-approver"], "message": "please"},
         _review_requested),
    Case("approve", "POST", lambda w: w.version_url(2, "reviews/"), APPROVERS, 201,
         {"decision": "approve"}, _approved),
    Case("request changes", "POST", lambda w: w.version_url(2, "reviews/"),
         REVIEWERS, 201, {"decision": "request_changes", "body": "Say hello"},
         _changes_requested),
    Case("move a label", "POST", lambda w: w.prompt_url("labels/move/"), EDITORS,
         body={"label": "staging", "version": 2}, check=_staging_moved),
    Case("roll a label back", "POST", lambda w: w.prompt_url("labels/rollback/"),
         EDITORS, body={"label": "beta"}, check=_beta_rolled_back),
    Case("read the history", "GET", lambda w: w.prompt_url("history/"), VIEWERS,
         check=_history),
    Case("list prompt grants", "GET", lambda w: w.prompt_url("grants/"), VIEWERS,
         check=_grants_listed),
    Case("grant on a prompt", "POST", lambda w: w.prompt_url("grants/"), ADMINS,
         body={"user": "acme-extra", "role": "editor"}, check=_grant_set),
    Case("remove a prompt grant", "DELETE",
         lambda w: w.prompt_url("grants/acme-extra/"), ADMINS, 204,
         check=_grant_removed),
    Case("list folder grants", "GET", lambda w: f"{V1}/acme/folder-grants/",
         VIEWERS, check=_folder_grants_listed),
    Case("grant on a folder", "POST", lambda w: f"{V1}/acme/folder-grants/", ADMINS,
         body={"user": "acme-extra", "prefix": "docs/", "role": "editor"},
         check=_folder_grant_set),
    Case("remove a folder grant", "DELETE",
         lambda w: f"{V1}/acme/folder-grants/{w.folder_grant.pk}/", ADMINS, 204,
         check=_folder_grant_removed),
]  # fmt: skip


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_endpoint_answers_each_persona_as_its_role_allows(
    case, who, world, outsider, other_member
):
    client = persona(who, world, outsider, other_member)
    before = registry_state()

    response = client.send(case.method, case.path(world), case.body)

    if who in case.allowed:
        assert response.status_code == case.status, response.content
        case.check(world, response)
    else:
        assert_error(response, expected_refusal(who))
        assert registry_state() == before


def test_a_refusal_says_why_in_the_error_shape(world, outsider):
    viewer = token_client(world.members[Role.VIEWER])

    response = viewer.send("POST", world.prompt_url("versions/"), {"prompt": "x"})

    body = assert_error(response, 403, "editor role on team/greeting")
    assert body["error"] == "AccessDeniedError"


def test_an_outsider_cannot_tell_a_missing_project_from_a_hidden_one(world, outsider):
    client = token_client(outsider)

    hidden = client.get(f"{V1}/acme/prompts/")
    missing = client.get(f"{V1}/nowhere/prompts/")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_anonymous_requests_are_asked_for_a_token(world):
    client = persona_client(ANONYMOUS, members={}, outsider=None, other_member=None)

    answer = client.get(f"{V1}/acme/prompts/")

    assert_error(answer, 401, "credentials were not provided")
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


# Lookups and filters ----------------------------------------------------------


@pytest.fixture
def viewer(world):
    return token_client(world.members[Role.VIEWER])


def test_a_prompt_is_found_by_its_exact_name_with_slashes(world, viewer):
    services.version_create(project=world.project, name="team", content="x")

    response = viewer.get(f"{V1}/acme/prompts/", {"name": NAME})

    (row,) = response.json()["data"]
    assert row["id"] == str(world.prompt.pk)


def test_the_list_filters_by_folder_label_and_status(world, viewer, members):
    services.version_create(
        project=world.project, name="other/thing", content="x", labels=["prod"]
    )
    services.version_create(project=world.project, name="teams/x", content="x")

    def names(**query):
        response = viewer.get(f"{V1}/acme/prompts/", query)
        assert response.status_code == 200, response.content
        return [row["name"] for row in response.json()["data"]]

    assert names(folder="team") == [NAME]
    assert names(folder="team/") == [NAME]
    assert names(label="prod") == ["other/thing"]
    assert names(status="in_review") == [NAME]
    assert names(status="draft") == ["other/thing", "teams/x"]
    assert names(status="approved") == []


def test_the_list_pages(world, viewer):
    for index in range(3):
        services.version_create(project=world.project, name=f"p{index}", content="x")

    response = viewer.get(f"{V1}/acme/prompts/", {"limit": 2, "page": 2})

    assert [row["name"] for row in response.json()["data"]] == ["p2", NAME]
    assert response.json()["meta"] == {
        "page": 2,
        "limit": 2,
        "totalItems": 4,
        "totalPages": 2,
    }


def test_a_bad_filter_is_a_400_naming_it(world, viewer):
    response = viewer.get(f"{V1}/acme/prompts/", {"status": "done", "limit": 0})

    body = assert_error(response, 400, "status:", "limit:")
    assert set(body["details"]) == {"status", "limit"}


# Versions and comments: input errors -----------------------------------------


@pytest.fixture
def editor(world):
    return token_client(world.members[Role.EDITOR])


def test_a_version_needs_a_commit_message(world, editor):
    before = registry_state()

    response = editor.send("POST", world.prompt_url("versions/"), {"prompt": "Hey"})

    assert_error(response, 400, "commitMessage: This field is required")
    assert registry_state() == before


def test_a_chat_version_with_a_bad_message_names_the_message(world, editor):
    services.version_create(
        project=world.project,
        name="chat",
        content=[{"role": "system", "content": "Be kind"}],
    )
    chat = Prompt.objects.get(name="chat")

    response = editor.send(
        "POST",
        f"{V1}/acme/prompts/{chat.pk}/versions/",
        {"prompt": [{"role": "user"}], "commitMessage": "c", "config": {"t": 1}},
    )

    assert_error(response, 400, "prompt[0].content: is required")
    assert chat.versions.count() == 1


def test_a_chat_version_is_created_with_its_config(world, editor):
    services.version_create(
        project=world.project, name="chat", content=[{"role": "system", "content": "a"}]
    )
    chat = Prompt.objects.get(name="chat")
    messages = [
        {"role": "system", "content": "Be {{tone}}"},
        {"type": "placeholder", "name": "history"},
    ]

    response = editor.send(
        "POST",
        f"{V1}/acme/prompts/{chat.pk}/versions/",
        {"prompt": messages, "commitMessage": "c", "config": {"model": "gpt-4o"}},
    )

    assert response.status_code == 201, response.content
    assert response.json()["prompt"] == messages
    assert response.json()["config"] == {"model": "gpt-4o"}
    assert response.json()["type"] == "chat"
    assert response.json()["variables"] == ["tone"]


def test_config_must_be_an_object(world, editor):
    response = editor.send(
        "POST",
        world.prompt_url("versions/"),
        {"prompt": "x", "commitMessage": "c", "config": [1]},
    )

    assert_error(response, 400, "config: must be a JSON object")


def test_creating_a_prompt_with_a_taken_name_is_refused(world, editor):
    before = registry_state()

    response = editor.send(
        "POST",
        f"{V1}/acme/prompts/",
        {"name": NAME, "prompt": "x", "commitMessage": "c"},
    )

    assert_error(response, 400, "name: a prompt with this name exists")
    assert registry_state() == before


def test_a_reply_joins_its_thread_and_keeps_its_anchor(world):
    approver = token_client(world.members[Role.APPROVER])

    response = approver.send(
        "POST",
        world.version_url(1, "comments/"),
        {"body": "Because", "parent": world.comment.pk},
    )
    threads = approver.get(world.version_url(1, "comments/")).json()["data"]

    assert response.status_code == 201, response.content
    assert response.json()["line"] == 2
    assert [reply["body"] for reply in threads[0]["replies"]] == ["Because"]


def test_a_reply_to_a_comment_on_another_version_is_refused(world):
    reviewer = token_client(world.members[Role.REVIEWER])
    before = registry_state()

    response = reviewer.send(
        "POST",
        world.version_url(2, "comments/"),
        {"body": "x", "parent": world.comment.pk},
    )

    assert_error(response, 400, "parent: no comment")
    assert registry_state() == before


def test_a_line_outside_the_text_is_refused(world):
    reviewer = token_client(world.members[Role.REVIEWER])

    response = reviewer.send(
        "POST", world.version_url(1, "comments/"), {"body": "x", "line": 9}
    )

    assert_error(response, 400, "line: must be between 1 and 2")


def test_a_deleted_comment_stays_in_its_thread_without_its_text(world):
    reviewer = token_client(world.members[Role.REVIEWER])
    comment_add(
        version=world.v1,
        actor=world.members[Role.EDITOR],
        body="reply",
        parent=world.comment,
    )

    reviewer.delete(world.comment_url())
    (thread,) = reviewer.get(world.version_url(1, "comments/")).json()["data"]

    assert (thread["deleted"], thread["body"]) == (True, "")
    assert [reply["body"] for reply in thread["replies"]] == ["reply"]


def test_a_review_request_names_only_members(world, editor):
    before = registry_state()

    response = editor.send(
        "POST",
        world.version_url(2, "review-requests/"),
        {"reviewers": ["globex-admin"]},
    )

    assert_error(response, 400, "reviewers: globex-admin is not a member of Acme")
    assert registry_state() == before


def test_requesting_changes_needs_a_body(world):
    reviewer = token_client(world.members[Role.REVIEWER])

    response = reviewer.send(
        "POST", world.version_url(2, "reviews/"), {"decision": "request_changes"}
    )

    assert_error(response, 400, "body: say what should change")


def test_a_grant_names_only_members(world):
    admin = token_client(world.members[Role.ADMIN])
    before = registry_state()

    response = admin.send(
        "POST", world.prompt_url("grants/"), {"user": "outsider", "role": "editor"}
    )

    assert_error(response, 400, "user: outsider is not a member of Acme")
    assert registry_state() == before


def test_a_folder_grant_lifts_a_viewer_to_edit_inside_the_folder(world):
    extra = token_client(world.extra)
    UserObjectPermission.objects.filter(user=world.extra).delete()
    FolderGrant.objects.filter(pk=world.folder_grant.pk).update(role=Role.EDITOR)

    response = extra.send(
        "POST", world.prompt_url("versions/"), {"prompt": "x", "commitMessage": "c"}
    )

    assert response.status_code == 201, response.content


# The four-eyes rule and protected labels --------------------------------------


@pytest.fixture
def approver(world):
    return token_client(world.members[Role.APPROVER])


@pytest.fixture
def own_version(world, protected, approver):
    """Version 3, written by the approver and sent for review by them."""
    created = approver.send(
        "POST", world.prompt_url("versions/"), {"prompt": "v3", "commitMessage": "c"}
    )
    assert created.status_code == 201, created.content
    requested = approver.send("POST", world.version_url(3, "review-requests/"), {})
    assert requested.status_code == 201, requested.content
    return world.prompt.versions.get(number=3)


def test_an_approver_may_not_approve_their_own_version(own_version, approver, world):
    response = approver.send(
        "POST", world.version_url(3, "reviews/"), {"decision": "approve"}
    )

    assert_error(response, 403, "Four eyes")
    own_version.refresh_from_db()
    assert own_version.review_status == ReviewStatus.IN_REVIEW
    assert not own_version.reviews.exists()


def test_the_authors_approval_counts_when_the_project_says_so(
    own_version, approver, world
):
    world.project.author_approval_counts = True
    world.project.save(update_fields=["author_approval_counts"])

    response = approver.send(
        "POST", world.version_url(3, "reviews/"), {"decision": "approve"}
    )

    assert response.status_code == 201, response.content
    own_version.refresh_from_db()
    assert own_version.review_status == ReviewStatus.APPROVED


def test_a_protected_label_does_not_move_to_an_unapproved_version(
    world, protected, approver
):
    before = registry_state()

    response = approver.send(
        "POST", world.prompt_url("labels/move/"), {"label": "production", "version": 2}
    )

    assert_error(response, 403, "Label 'production' is protected", "in review")
    assert registry_state() == before


def test_a_new_version_cannot_take_a_protected_label(world, protected, editor):
    before = registry_state()

    response = editor.send(
        "POST",
        world.prompt_url("versions/"),
        {"prompt": "x", "commitMessage": "c", "labels": ["production"]},
    )

    assert_error(response, 403, "protected")
    assert registry_state() == before


def test_an_editor_cannot_move_a_protected_label_even_to_an_approved_version(
    world, protected, editor, approve
):
    approve(world.v2)
    before = registry_state()

    response = editor.send(
        "POST", world.prompt_url("labels/move/"), {"label": "production", "version": 2}
    )

    assert_error(response, 403, "only an approver may move it")
    assert registry_state() == before


def test_after_approval_the_label_moves_and_the_public_api_serves_the_version(
    world, protected, approver, editor, api, committed
):
    services.label_move(
        prompt=world.prompt, label="production", version_number=1, actor=None
    )
    assert api.get(prompt_path(NAME), {"label": "production"}).json()["version"] == 1

    approved = approver.send(
        "POST", world.version_url(2, "reviews/"), {"decision": "approve"}
    )
    with committed():
        moved = approver.send(
            "POST",
            world.prompt_url("labels/move/"),
            {"label": "production", "version": 2},
        )
    fetched = api.get(prompt_path(NAME), {"label": "production"})

    assert approved.status_code == 201, approved.content
    assert approved.json()["version"]["reviewStatus"] == ReviewStatus.APPROVED
    assert moved.status_code == 200, moved.content
    assert (moved.json()["fromVersion"], moved.json()["toVersion"]) == (1, 2)
    assert fetched.json()["version"] == 2
    assert fetched.json()["prompt"] == "Hi {{name}}\nBye"


def test_rolling_back_a_protected_label_needs_an_approved_target(
    world, protected, approver, approve
):
    approve(world.v2)
    services.label_move(
        prompt=world.prompt, label="production", version_number=1, actor=None
    )
    services.label_move(
        prompt=world.prompt, label="production", version_number=2, actor=None
    )
    before = registry_state()

    response = approver.send(
        "POST", world.prompt_url("labels/rollback/"), {"label": "production"}
    )

    assert_error(response, 403, "version 1 is draft")
    assert registry_state() == before


def test_moving_a_label_to_a_missing_version_is_a_404(world, editor):
    response = editor.send(
        "POST", world.prompt_url("labels/move/"), {"label": "staging", "version": 9}
    )

    assert_error(response, 404, "with version 9")


def test_a_label_cannot_be_rolled_back_without_an_earlier_version(world, editor):
    response = editor.send(
        "POST", world.prompt_url("labels/rollback/"), {"label": "staging"}
    )

    assert_error(response, 400, "label: 'staging' has no earlier version")


# History ----------------------------------------------------------------------


def test_the_history_tells_the_whole_review_newest_first(world, approver):
    review_decide(
        version=world.v2,
        actor=world.members[Role.APPROVER],
        decision="approve",
        body="ok",
    )
    comment_resolve(comment=world.comment, actor=world.members[Role.REVIEWER])

    events = approver.get(world.prompt_url("history/")).json()["data"]

    assert [(e["kind"], e["version"], e["text"]) for e in events][:3] == [
        ("review", 2, "ok"),
        ("comment", 1, "Why bye?"),
        ("review_request", 2, ""),
    ]
    assert events[0]["decision"] == "approve"
    moves = [e for e in events if e["kind"] == "label_move"]
    assert [(m["label"], m["fromVersion"], m["toVersion"]) for m in moves] == [
        ("beta", 1, 2),
        ("beta", None, 1),
        ("staging", None, 1),
    ]
    assert [e["version"] for e in events if e["kind"] == "version"] == [2, 1]


def test_the_history_leaves_out_latest_and_deleted_comments(world, viewer):
    Comment.objects.filter(pk=world.comment.pk).update(
        body="", deleted_at=timezone.now()
    )

    events = viewer.get(world.prompt_url("history/"), {"limit": 50}).json()["data"]

    assert "comment" not in {event["kind"] for event in events}
    assert "latest" not in {event["label"] for event in events}


# Tenants ----------------------------------------------------------------------


def test_another_projects_prompt_is_not_reachable_through_this_project(world):
    admin = token_client(world.members[Role.ADMIN])
    foreign = world.foreign_prompt
    before = registry_state()

    answers = [
        admin.get(f"{V1}/acme/prompts/{foreign.pk}/"),
        admin.get(f"{V1}/acme/prompts/{foreign.pk}/versions/1/"),
        admin.send(
            "POST",
            f"{V1}/acme/prompts/{foreign.pk}/versions/",
            {"prompt": "x", "commitMessage": "c"},
        ),
        admin.send(
            "POST",
            f"{V1}/acme/prompts/{foreign.pk}/labels/move/",
            {"label": "x", "version": 1},
        ),
        admin.get(f"{V1}/globex/prompts/"),
        admin.get(f"{V1}/globex/prompts/{foreign.pk}/"),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert registry_state() == before


def test_another_projects_comment_is_not_reachable_through_this_prompt(
    world, other_member
):
    foreign_comment = comment_add(
        version=world.foreign_prompt.versions.get(),
        actor=other_member,
        body="Globex only",
    )
    admin = token_client(world.members[Role.ADMIN])
    url = world.prompt_url(f"comments/{foreign_comment.pk}/")

    edit = admin.send("PATCH", url, {"body": "mine now"})
    resolve = admin.send("POST", url + "resolve/")

    assert edit.status_code == resolve.status_code == 404
    foreign_comment.refresh_from_db()
    assert (foreign_comment.body, foreign_comment.resolved_at) == ("Globex only", None)


def test_another_projects_folder_grant_cannot_be_removed_here(
    world, other_project, other_member
):
    grant = folder_grant_set(
        project=other_project,
        user=other_member,
        prefix="g/",
        role=Role.ADMIN,
        actor=None,
    )
    admin = token_client(world.members[Role.ADMIN])

    response = admin.delete(f"{V1}/acme/folder-grants/{grant.pk}/")

    assert response.status_code == 404
    assert FolderGrant.objects.filter(pk=grant.pk).exists()


def test_the_prompt_list_holds_only_this_projects_prompts(world):
    admin = token_client(world.members[Role.ADMIN])

    rows = admin.get(f"{V1}/acme/prompts/").json()["data"]

    assert [row["id"] for row in rows] == [str(world.prompt.pk)]


def test_a_superuser_who_is_no_member_sees_the_project(world):
    root = get_user_model().objects.create_superuser("root", password="pw")

    response = token_client(root).get(world.prompt_url())

    assert response.status_code == 200
