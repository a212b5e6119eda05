"""Project administration pages: settings, members, grants, API keys.

Every page and action needs the project's admin role; refused requests
change nothing.
"""

import re
import smtplib

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from guardian.models import UserObjectPermission

from prompts import services as prompt_services
from prompts.errors import PromptInputError
from prompts.models import FolderGrant
from prompts.selectors import prompt_for_user
from prompts.services.grants import folder_grant_set, prompt_grant_set
from tests.conftest import ApiClient, make_member
from workbench.models import ApiKey, Membership, NamingRule, Project, Role

pytestmark = pytest.mark.django_db

User = get_user_model()
BELOW_ADMIN = [Role.VIEWER, Role.REVIEWER, Role.EDITOR, Role.APPROVER]
PAGES = ["project-settings", "project-members", "project-grants", "api-keys"]


def url(name, project):
    return reverse(name, args=[project.slug])


def state():
    """Everything a settings action could change, to compare before/after."""
    return {
        "project": list(
            Project.objects.order_by("slug").values(
                "slug",
                "name",
                "naming_rule",
                "protected_labels",
                "required_approvals",
                "author_approval_counts",
            )
        ),
        "members": sorted(
            Membership.objects.values_list("project__slug", "user__username", "role")
        ),
        "users": sorted(User.objects.values_list("username", flat=True)),
        "keys": sorted(ApiKey.objects.values_list("public_key", "revoked_at")),
        "folder_grants": sorted(
            FolderGrant.objects.values_list("user__username", "prefix", "role")
        ),
        "prompt_grants": sorted(
            UserObjectPermission.objects.values_list(
                "user__username", "object_pk", "permission__codename"
            )
        ),
    }


@pytest.fixture
def quiz(project):
    return prompt_services.version_create(
        project=project, name="quiz/generator", content="Ask about {{topic}}"
    ).prompt


@pytest.fixture
def setup(project, members, api_key_pair, quiz):
    """A project with a folder grant, a prompt grant and an API key."""
    admin = members[Role.ADMIN]
    folder_grant_set(
        project=project,
        user=members[Role.VIEWER],
        prefix="quiz/",
        role=Role.EDITOR,
        actor=admin,
    )
    prompt_grant_set(
        prompt=quiz, user=members[Role.REVIEWER], role=Role.APPROVER, actor=admin
    )
    return project


# Every action with a request that would change something if allowed.
ACTIONS = {
    "settings": ("project-settings", lambda ctx: {"name": "Hacked", "naming_rule": ""}),
    "add": ("member-add", lambda ctx: {"identifier": "outsider", "role": "admin"}),
    "invite": ("member-invite", lambda ctx: {"email": "eve@example.com"}),
    "role": ("member-role", lambda ctx: {"user": "acme-viewer", "role": "admin"}),
    "remove": ("member-remove", lambda ctx: {"user": "acme-viewer"}),
    "resend": ("member-invite-resend", lambda ctx: {"user": "acme-viewer"}),
    "grant": (
        "grant-add",
        lambda ctx: {
            "user": "acme-viewer",
            "kind": "folder",
            "target": "hr/",
            "role": "admin",
        },
    ),
    "ungrant": (
        "grant-remove",
        lambda ctx: {"user": "acme-viewer", "kind": "folder", "target": "quiz/"},
    ),
    "new-key": ("api-key-create", lambda ctx: {"note": "stolen"}),
    "revoke": (
        "api-key-revoke",
        lambda ctx: {"public_key": ctx["api_key_pair"][0].public_key},
    ),
}


# Access per role ------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, project, page):
    response = client.get(url(page, project))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("page", PAGES)
def test_outsiders_and_other_projects_admins_get_a_404(
    login_as, project, outsider, other_member, page
):
    assert login_as(outsider).get(url(page, project)).status_code == 404
    assert login_as(other_member).get(url(page, project)).status_code == 404


@pytest.mark.parametrize("role", BELOW_ADMIN)
@pytest.mark.parametrize("page", PAGES)
def test_members_below_admin_are_refused_every_page(
    login_as, members, project, page, role
):
    response = login_as(members[role]).get(url(page, project))

    assert response.status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_an_admin_sees_every_page(login_as, members, project, page):
    response = login_as(members[Role.ADMIN]).get(url(page, project))

    assert response.status_code == 200
    assert response.context["section"] == "settings"


@pytest.mark.parametrize("action", ACTIONS)
def test_an_anonymous_post_changes_nothing(client, setup, api_key_pair, action):
    name, data = ACTIONS[action]
    before = state()

    response = client.post(url(name, setup), data({"api_key_pair": api_key_pair}))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert state() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_outsiders_posts_get_a_404_and_change_nothing(
    login_as, setup, api_key_pair, outsider, other_member, action
):
    name, data = ACTIONS[action]
    before = state()

    for user in (outsider, other_member):
        response = login_as(user).post(
            url(name, setup), data({"api_key_pair": api_key_pair})
        )
        assert response.status_code == 404

    assert state() == before
    assert mail.outbox == []


@pytest.mark.parametrize("role", BELOW_ADMIN)
@pytest.mark.parametrize("action", ACTIONS)
def test_members_below_admin_get_a_403_and_change_nothing(
    login_as, setup, members, api_key_pair, action, role
):
    name, data = ACTIONS[action]
    before = state()

    response = login_as(members[role]).post(
        url(name, setup), data({"api_key_pair": api_key_pair})
    )

    assert response.status_code == 403
    assert state() == before
    assert mail.outbox == []


def test_the_navigation_shows_settings_to_admins_only(login_as, members, project):
    settings_link = f'href="{url("project-settings", project)}"'
    audit_link = f'href="{url("audit-log", project)}"'

    admin_page = login_as(members[Role.ADMIN]).get(url("prompt-list", project))
    approver_page = login_as(members[Role.APPROVER]).get(url("prompt-list", project))

    assert settings_link in admin_page.content.decode()
    assert audit_link in admin_page.content.decode()
    assert settings_link not in approver_page.content.decode()
    assert audit_link in approver_page.content.decode()


def test_the_settings_pages_link_each_other(login_as, members, project):
    html = login_as(members[Role.ADMIN]).get(url("project-members", project))
    html = html.content.decode()

    for page in PAGES:
        assert f'href="{url(page, project)}"' in html
    assert 'class="active" aria-current="page">Members</a>' in html


# Project settings -----------------------------------------------------------


def test_an_admin_changes_the_project_settings(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        url("project-settings", project),
        {
            "name": " Acme Corp ",
            "naming_rule": NamingRule.SERVICE_NAME_PROMPT_NAME,
            "protected_labels": "production, staging,production",
            "required_approvals": "2",
            "author_approval_counts": "on",
        },
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "Acme Corp"
    assert project.slug == "acme"
    assert project.naming_rule == NamingRule.SERVICE_NAME_PROMPT_NAME
    assert project.protected_labels == ["production", "staging"]
    assert project.required_approvals == 2
    assert project.author_approval_counts is True


def test_the_settings_form_shows_the_current_values(login_as, members, protected):
    html = login_as(members[Role.ADMIN]).get(url("project-settings", protected))

    assert 'name="protected_labels" value="production"' in html.content.decode()
    assert "applies to new prompt names only" in html.content.decode()


def test_an_empty_protected_labels_field_protects_nothing(login_as, members, protected):
    login_as(members[Role.ADMIN]).post(
        url("project-settings", protected),
        {"name": "Acme", "naming_rule": "", "required_approvals": "1"},
    )

    protected.refresh_from_db()
    assert protected.protected_labels == []
    assert protected.author_approval_counts is False


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("protected_labels", "production, Prod!", "'Prod!' is not a valid label"),
        ("protected_labels", "latest", "'latest' is managed by the server"),
        ("required_approvals", "0", "must be between 1 and 10 (got 0)"),
        ("required_approvals", "11", "must be between 1 and 10 (got 11)"),
        ("required_approvals", "two", "must be a whole number"),
        ("name", "  ", "must not be empty"),
        ("naming_rule", "CamelCase", "is not a known rule"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    login_as, members, project, field, value, reason
):
    data = {"name": "Acme 2", "naming_rule": "", "required_approvals": "3"}
    data[field] = value
    before = state()

    response = login_as(members[Role.ADMIN]).post(
        url("project-settings", project), data
    )

    assert response.status_code == 400
    assert reason in response.context["errors"][field]
    assert state() == before


def test_a_new_naming_rule_leaves_existing_prompts_working(login_as, members, project):
    prompt_services.version_create(project=project, name="greeting", content="Hi")
    login_as(members[Role.ADMIN]).post(
        url("project-settings", project),
        {
            "name": "Acme",
            "naming_rule": NamingRule.SERVICE_NAME_PROMPT_NAME,
            "required_approvals": "1",
        },
    )
    project.refresh_from_db()

    version = prompt_services.version_create(
        project=project, name="greeting", content="Hello"
    )
    with pytest.raises(PromptInputError, match="naming rule"):
        prompt_services.version_create(project=project, name="farewell", content="x")
    prompt_services.version_create(project=project, name="CHAT_FAREWELL", content="x")

    assert version.number == 2


# Members ----------------------------------------------------------------------


def test_the_members_page_lists_members_with_their_roles(login_as, members, project):
    response = login_as(members[Role.ADMIN]).get(url("project-members", project))

    listed = [(m.user.username, m.role) for m in response.context["memberships"]]
    assert listed == sorted((f"acme-{role}", role) for role in Role.values)


def test_an_admin_adds_an_existing_user_by_user_name(
    login_as, members, project, outsider
):
    response = login_as(members[Role.ADMIN]).post(
        url("member-add", project), {"identifier": "outsider", "role": "editor"}
    )

    assert response.status_code == 302
    assert Membership.objects.get(project=project, user=outsider).role == Role.EDITOR


def test_an_admin_adds_an_existing_user_by_email(login_as, members, project, outsider):
    outsider.email = "Out.Sider@Example.com"
    outsider.save()

    login_as(members[Role.ADMIN]).post(
        url("member-add", project),
        {"identifier": "out.sider@example.com", "role": "viewer"},
    )

    assert Membership.objects.get(project=project, user=outsider).role == Role.VIEWER


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        ("nobody", "no account has the user name or email 'nobody'"),
        ("acme-editor", "acme-editor is already a member of Acme (as editor)"),
        ("", "enter a user name or an email address"),
    ],
)
def test_adding_refuses_unknown_people_and_members(
    login_as, members, project, identifier, reason
):
    before = state()

    response = login_as(members[Role.ADMIN]).post(
        url("member-add", project), {"identifier": identifier, "role": "viewer"}
    )

    assert response.status_code == 400
    assert response.context["errors"]["add"].startswith(reason)
    assert state() == before


def test_adding_refuses_an_unknown_role(login_as, members, project, outsider):
    response = login_as(members[Role.ADMIN]).post(
        url("member-add", project), {"identifier": "outsider", "role": "owner"}
    )

    assert response.status_code == 400
    assert "must be one of viewer, reviewer" in response.context["errors"]["add"]
    assert not Membership.objects.filter(user=outsider).exists()


def set_password_link(message):
    return re.search(r"http://testserver(/reset/\S+/)", message.body).group(1)


def test_an_invitation_creates_the_account_and_its_link_sets_a_password(
    client, login_as, members, project, settings
):
    settings.SITE_URL = "http://testserver"
    response = login_as(members[Role.ADMIN]).post(
        url("member-invite", project),
        {"email": "Jane.Doe+hr@Example.COM", "role": "reviewer"},
    )

    assert response.status_code == 302
    jane = User.objects.get(email="Jane.Doe+hr@example.com")
    assert jane.username == "jane.doe+hr"
    assert not jane.has_usable_password()
    assert Membership.objects.get(project=project, user=jane).role == Role.REVIEWER
    [message] = mail.outbox
    assert message.to == ["Jane.Doe+hr@example.com"]
    assert "acme-admin invited you to the project Acme" in message.body
    assert "Your user name is jane.doe+hr" in message.body

    client.logout()
    form_page = client.get(set_password_link(message), follow=True)
    assert form_page.context["validlink"] is True
    assert "jane.doe+hr" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a long new secret", "new_password2": "a long new secret"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert "Password set" in done.content.decode()
    assert client.login(username="jane.doe+hr", password="a long new secret")
    assert client.get(url("prompt-list", project)).status_code == 200


def test_an_invitation_link_works_only_once(
    client, login_as, members, project, settings
):
    settings.SITE_URL = "http://testserver"
    login_as(members[Role.ADMIN]).post(
        url("member-invite", project), {"email": "sam@example.com", "role": "viewer"}
    )
    link = set_password_link(mail.outbox[0])
    client.logout()
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "first choice 123", "new_password2": "first choice 123"},
    )

    again = client.get(link, follow=True)

    assert again.context["validlink"] is False
    assert "This link no longer works" in again.content.decode()


def test_invited_people_get_a_free_user_name(login_as, members, project):
    make_member(project, Role.VIEWER, username="sam")

    login_as(members[Role.ADMIN]).post(
        url("member-invite", project), {"email": "sam@example.com", "role": "viewer"}
    )

    assert User.objects.get(email="sam@example.com").username == "sam2"


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("not-an-email", "'not-an-email' is not an email address"),
        ("out@example.com", "out@example.com already has an account (outsider)"),
    ],
)
def test_invitations_refuse_bad_and_known_addresses(
    login_as, members, project, outsider, email, reason
):
    outsider.email = "out@example.com"
    outsider.save()
    before = state()

    response = login_as(members[Role.ADMIN]).post(
        url("member-invite", project), {"email": email, "role": "viewer"}
    )

    assert response.status_code == 400
    assert response.context["errors"]["invite"].startswith(reason)
    assert state() == before
    assert mail.outbox == []


def test_an_invitation_the_mail_server_refuses_keeps_the_member_and_says_so(
    login_as, members, project, monkeypatch
):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr("workbench.services.send_mail", refuse)

    response = login_as(members[Role.ADMIN]).post(
        url("member-invite", project),
        {"email": "kim@example.com", "role": "viewer"},
        follow=True,
    )

    kim = User.objects.get(email="kim@example.com")
    assert Membership.objects.filter(project=project, user=kim).exists()
    html = response.content.decode()
    assert "could not be sent (connection closed)" in html
    assert "Resend invitation" in html


def test_an_admin_resends_an_invitation(login_as, members, project, settings):
    client = login_as(members[Role.ADMIN])
    client.post(
        url("member-invite", project), {"email": "lee@example.com", "role": "viewer"}
    )

    response = client.post(url("member-invite-resend", project), {"user": "lee"})

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["lee@example.com"], ["lee@example.com"]]


def test_no_invitation_goes_to_someone_with_a_password(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        url("member-invite-resend", project), {"user": "acme-viewer"}
    )

    assert response.status_code == 400
    assert "acme-viewer has already set a password" in response.content.decode()
    assert mail.outbox == []


def test_an_admin_changes_a_members_role(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        url("member-role", project), {"user": "acme-viewer", "role": "approver"}
    )

    assert response.status_code == 302
    assert members[Role.VIEWER].memberships.get().role == Role.APPROVER


def test_a_role_change_over_htmx_answers_with_the_table(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        url("member-role", project),
        {"user": "acme-viewer", "role": "editor"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="members">')
    assert "acme-viewer is now editor." in html
    assert "<html" not in html
    assert members[Role.VIEWER].memberships.get().role == Role.EDITOR


def test_an_unknown_member_is_a_404(login_as, members, project, outsider):
    response = login_as(members[Role.ADMIN]).post(
        url("member-role", project), {"user": "outsider", "role": "admin"}
    )

    assert response.status_code == 404
    assert not Membership.objects.filter(user=outsider).exists()


def test_an_admin_removes_a_member_and_their_grants(login_as, setup, members):
    viewer, reviewer = members[Role.VIEWER], members[Role.REVIEWER]

    login_as(members[Role.ADMIN]).post(
        url("member-remove", setup), {"user": "acme-viewer"}
    )
    login_as(members[Role.ADMIN]).post(
        url("member-remove", setup), {"user": "acme-reviewer"}
    )

    assert not Membership.objects.filter(user__in=[viewer, reviewer]).exists()
    assert not FolderGrant.objects.filter(user=viewer).exists()
    assert not UserObjectPermission.objects.filter(user=reviewer).exists()


def test_the_last_admin_cannot_demote_themselves(login_as, members, project):
    before = state()

    response = login_as(members[Role.ADMIN]).post(
        url("member-role", project), {"user": "acme-admin", "role": "approver"}
    )

    assert response.status_code == 400
    assert (
        "acme-admin is the last admin of Acme; make another member admin first"
        in response.content.decode()
    )
    assert state() == before


def test_the_last_admin_cannot_remove_themselves(login_as, members, project):
    before = state()

    response = login_as(members[Role.ADMIN]).post(
        url("member-remove", project), {"user": "acme-admin"}
    )

    assert response.status_code == 400
    assert "is the last admin of Acme" in response.content.decode()
    assert state() == before


def test_the_last_admin_refusal_over_htmx_shows_in_the_table(
    login_as, members, project
):
    response = login_as(members[Role.ADMIN]).post(
        url("member-role", project),
        {"user": "acme-admin", "role": "viewer"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert (
        'role="alert">acme-admin is the last admin of Acme' in response.content.decode()
    )
    assert members[Role.ADMIN].memberships.get().role == Role.ADMIN


def test_an_admin_steps_down_once_another_admin_exists(login_as, members, project):
    client = login_as(members[Role.ADMIN])
    client.post(url("member-role", project), {"user": "acme-approver", "role": "admin"})

    response = client.post(
        url("member-role", project), {"user": "acme-admin", "role": "editor"}
    )

    assert response.status_code == 302
    assert members[Role.ADMIN].memberships.get().role == Role.EDITOR
    assert members[Role.APPROVER].memberships.get().role == Role.ADMIN
    # No longer an admin: the settings are closed to them now.
    assert client.get(url("project-members", project)).status_code == 403


def test_a_superuser_who_is_no_member_may_administer(project, members):
    boss = User.objects.create_superuser(username="boss", password="pw")
    client = Client()
    client.force_login(boss)

    response = client.post(
        url("member-role", project), {"user": "acme-viewer", "role": "editor"}
    )

    assert response.status_code == 302
    assert members[Role.VIEWER].memberships.get().role == Role.EDITOR


# Grants -----------------------------------------------------------------------


def test_a_prompt_grant_gives_the_stronger_role(login_as, members, project, quiz):
    viewer = members[Role.VIEWER]
    assert prompt_for_user(viewer, project, quiz.name).role == Role.VIEWER

    response = login_as(members[Role.ADMIN]).post(
        url("grant-add", project),
        {
            "user": "acme-viewer",
            "kind": "prompt",
            "target": quiz.name,
            "role": "editor",
        },
    )

    assert response.status_code == 302
    assert prompt_for_user(viewer, project, quiz.name).role == Role.EDITOR
    assert prompt_for_user(viewer, project, quiz.name, needs=Role.EDITOR).can(
        Role.EDITOR
    )


def test_a_folder_grant_covers_every_prompt_with_the_prefix(
    login_as, members, project, quiz
):
    other = prompt_services.version_create(
        project=project, name="hr/screening", content="x"
    ).prompt

    login_as(members[Role.ADMIN]).post(
        url("grant-add", project),
        {
            "user": "acme-reviewer",
            "kind": "folder",
            "target": "quiz/",
            "role": "approver",
        },
    )

    reviewer = members[Role.REVIEWER]
    assert prompt_for_user(reviewer, project, quiz.name).role == Role.APPROVER
    assert prompt_for_user(reviewer, project, other.name).role == Role.REVIEWER


def test_the_grants_page_lists_both_kinds(login_as, setup, members, quiz):
    response = login_as(members[Role.ADMIN]).get(url("project-grants", setup))

    prompt_grants = [
        (g.prompt.name, g.user.username, g.role)
        for g in response.context["prompt_grants"]
    ]
    folder_grants = [
        (g.prefix, g.user.username, g.role) for g in response.context["folder_grants"]
    ]
    assert prompt_grants == [("quiz/generator", "acme-reviewer", "approver")]
    assert folder_grants == [("quiz/", "acme-viewer", "editor")]


def test_the_grants_page_ignores_grants_in_other_projects(
    login_as, members, project, other_project, other_member
):
    theirs = prompt_services.version_create(
        project=other_project, name="quiz/generator", content="x"
    ).prompt
    prompt_grant_set(prompt=theirs, user=other_member, role=Role.ADMIN, actor=None)
    folder_grant_set(
        project=other_project, user=other_member, prefix="q", role="admin", actor=None
    )

    response = login_as(members[Role.ADMIN]).get(url("project-grants", project))

    assert response.context["prompt_grants"] == []
    assert list(response.context["folder_grants"]) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {"user": "outsider", "kind": "folder", "target": "x", "role": "editor"},
            "outsider is not a member of Acme",
        ),
        (
            {
                "user": "acme-viewer",
                "kind": "prompt",
                "target": "nope",
                "role": "editor",
            },
            "no prompt is named 'nope' in Acme",
        ),
        (
            {"user": "acme-viewer", "kind": "folder", "target": " ", "role": "editor"},
            "must not be empty",
        ),
        (
            {"user": "acme-viewer", "kind": "folder", "target": "x", "role": "owner"},
            "must be one of viewer",
        ),
    ],
)
def test_bad_grants_are_refused(
    login_as, members, project, outsider, quiz, data, reason
):
    before = state()

    response = login_as(members[Role.ADMIN]).post(url("grant-add", project), data)

    assert response.status_code == 400
    assert reason in response.context["error"].reason
    assert state() == before


def test_an_admin_removes_grants(login_as, setup, members, quiz):
    client = login_as(members[Role.ADMIN])

    client.post(
        url("grant-remove", setup),
        {"user": "acme-viewer", "kind": "folder", "target": "quiz/"},
    )
    client.post(
        url("grant-remove", setup),
        {"user": "acme-reviewer", "kind": "prompt", "target": quiz.name},
    )

    assert not FolderGrant.objects.exists()
    assert prompt_for_user(members[Role.REVIEWER], setup, quiz.name).role == "reviewer"
    assert prompt_for_user(members[Role.VIEWER], setup, quiz.name).role == "viewer"


def test_removing_a_grant_that_is_not_there_is_a_404(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        url("grant-remove", project),
        {"user": "acme-viewer", "kind": "folder", "target": "nothing/"},
    )

    assert response.status_code == 404


def test_prompt_names_render_inert(login_as, members, project):
    name = "<script>alert(1)</script>"
    prompt = prompt_services.version_create(project=project, name=name, content="x")
    prompt_grant_set(
        prompt=prompt.prompt, user=members[Role.VIEWER], role="editor", actor=None
    )

    html = login_as(members[Role.ADMIN]).get(url("project-grants", project))

    assert name not in html.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.content.decode()


# API keys -----------------------------------------------------------------------


def test_a_new_keys_secret_is_shown_once_and_works(login_as, members, project):
    client = login_as(members[Role.ADMIN])

    response = client.post(url("api-key-create", project), {"note": "interview svc"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    api_key = ApiKey.objects.get(project=project, note="interview svc")
    secret = response.context["new_secret"]
    html = response.content.decode()
    assert secret in html
    assert "copy the secret key now" in html
    assert api_key.created_by == members[Role.ADMIN]
    assert secret not in api_key.secret_hash
    assert api_key.secret_hint == f"...{secret[-4:]}"

    listing = client.get(url("api-keys", project)).content.decode()
    assert secret not in listing
    assert api_key.public_key in listing
    assert f"sk-lf-...{secret[-4:]}" in listing

    api = ApiClient(api_key.public_key, secret)
    answer = api.get("/api/public/projects")
    assert answer.status_code == 200
    assert answer.json()["data"][0]["id"] == str(project.id)


def test_a_revoked_key_stops_working_at_once(login_as, members, project):
    client = login_as(members[Role.ADMIN])
    created = client.post(url("api-key-create", project), {"note": "temp"})
    api_key, secret = created.context["new_key"], created.context["new_secret"]
    api = ApiClient(api_key.public_key, secret)
    assert api.get("/api/public/projects").status_code == 200  # now cached

    response = client.post(
        url("api-key-revoke", project), {"public_key": api_key.public_key}
    )

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api.get("/api/public/projects").status_code == 401
    assert (
        'class="flag revoked-flag"'
        in client.get(url("api-keys", project)).content.decode()
    )


def test_revoking_twice_says_it_is_already_revoked(
    login_as, members, project, api_key_pair
):
    client = login_as(members[Role.ADMIN])
    public_key = api_key_pair[0].public_key
    client.post(url("api-key-revoke", project), {"public_key": public_key})

    response = client.post(url("api-key-revoke", project), {"public_key": public_key})

    assert response.status_code == 400
    assert f"{public_key} is already revoked" in response.content.decode()


def test_another_projects_key_cannot_be_revoked(login_as, members, project, other_api):
    response = login_as(members[Role.ADMIN]).post(
        url("api-key-revoke", project), {"public_key": other_api.public_key}
    )

    assert response.status_code == 404
    assert other_api.get("/api/public/projects").status_code == 200


def test_a_key_note_that_is_too_long_is_refused(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        url("api-key-create", project), {"note": "n" * 201}
    )

    assert response.status_code == 400
    assert "must be at most 200 characters (got 201)" in response.content.decode()
    assert not ApiKey.objects.filter(project=project).exists()


def test_the_key_list_shows_only_this_projects_keys(
    login_as, members, project, api_key_pair, other_api
):
    response = login_as(members[Role.ADMIN]).get(url("api-keys", project))

    keys = [key.public_key for key in response.context["api_keys"]]
    assert keys == [api_key_pair[0].public_key]
