"""The native API about people and integrations (/api/v1/): access tokens,
session auth with CSRF, projects, members, the audit log and webhooks."""

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from prompts import services as prompt_services
from tests.conftest import make_member
from tests.native_api import (
    OTHER_MEMBER,
    PERSONAS,
    TokenClient,
    assert_error,
    expected_refusal,
    persona_client,
    token_client,
)
from workbench.models import (
    Membership,
    PersonalAccessToken,
    Role,
    Webhook,
    WebhookDelivery,
)

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
# An address on the public internet, given as a literal so no lookup is made.
PUBLIC_URL = "https://93.184.215.14/hooks/workbench"


@pytest.fixture
def alice(project):
    return make_member(project, Role.EDITOR, username="alice")


@pytest.fixture
def alice_token(alice):
    return PersonalAccessToken.generate(user=alice, name="laptop")


def workbench_state():
    """Everything an endpoint of this API could change, comparable with ==."""
    return {
        "members": sorted(
            Membership.objects.values_list("project__slug", "user__username", "role")
        ),
        "webhooks": sorted(Webhook.objects.values_list("project__slug", "url")),
        "tokens": sorted(
            PersonalAccessToken.objects.values_list("user__username", "revoked_at")
        ),
        "users": get_user_model().objects.count(),
    }


# Personal access tokens -------------------------------------------------------


def test_a_valid_token_acts_as_its_user_and_notes_the_use(alice_token, project):
    record, token = alice_token

    response = TokenClient(token).get(f"{V1}/projects/")

    assert response.status_code == 200
    assert response.json()["data"][0]["slug"] == "acme"
    assert response.json()["data"][0]["role"] == Role.EDITOR
    record.refresh_from_db()
    assert record.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(alice_token):
    record, token = alice_token
    recent = timezone.now() - timedelta(seconds=30)
    PersonalAccessToken.objects.filter(pk=record.pk).update(last_used_at=recent)

    TokenClient(token).get(f"{V1}/projects/")
    record.refresh_from_db()
    assert record.last_used_at == recent

    old = timezone.now() - timedelta(minutes=2)
    PersonalAccessToken.objects.filter(pk=record.pk).update(last_used_at=old)
    TokenClient(token).get(f"{V1}/projects/")
    record.refresh_from_db()
    assert record.last_used_at > old + timedelta(minutes=1)


def test_a_revoked_token_is_refused_with_a_clear_401(alice_token):
    record, token = alice_token
    record.revoked_at = timezone.now()
    record.save()

    response = TokenClient(token).get(f"{V1}/projects/")

    body = assert_error(response, 401, "access token (laptop) was revoked")
    assert body["error"] == "UnauthorizedError"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "token",
    ["abc", "wbt_", "wbt_abc", "wbt__secret", "pk-lf-1_2_3", "wbt_abc_"],
)
def test_a_malformed_token_is_refused(alice_token, token):
    response = TokenClient(token).get(f"{V1}/projects/")

    assert_error(response, 401, "Malformed access token")


def test_a_wrong_secret_for_a_real_prefix_is_refused_like_an_unknown_token(
    alice_token,
):
    record, token = alice_token
    forged = f"wbt_{record.prefix}_not-the-secret"

    forged_answer = TokenClient(forged).get(f"{V1}/projects/")
    unknown_answer = TokenClient("wbt_00000000_whatever").get(f"{V1}/projects/")

    assert_error(forged_answer, 401, "Invalid access token.")
    assert forged_answer.json() == unknown_answer.json()
    record.refresh_from_db()
    assert record.last_used_at is None


def test_a_token_of_a_disabled_account_is_refused(alice, alice_token):
    alice.is_active = False
    alice.save()

    response = TokenClient(alice_token[1]).get(f"{V1}/projects/")

    assert_error(response, 401, "disabled")


def test_no_credentials_is_a_401_asking_for_them(client):
    response = client.get(f"{V1}/projects/")

    assert_error(response, 401, "Authentication credentials were not provided")


def test_basic_api_key_credentials_do_not_open_the_native_api(api):
    response = api.get(f"{V1}/projects/")

    assert response.status_code == 401


def test_a_signed_in_person_creates_a_token_and_sees_it_once(alice, login_as):
    client = login_as(alice)

    created = client.post(
        f"{V1}/tokens/", {"name": "ci"}, content_type="application/json"
    )
    listed = client.get(f"{V1}/tokens/")

    assert created.status_code == 201, created.content
    token = created.json()["token"]
    assert token.startswith(f"wbt_{created.json()['prefix']}_")
    assert [row["name"] for row in listed.json()["data"]] == ["ci"]
    assert "token" not in listed.json()["data"][0]
    record = PersonalAccessToken.objects.get(user=alice)
    assert token not in record.token_hash
    assert TokenClient(token).get(f"{V1}/tokens/").status_code == 200


def test_a_token_cannot_create_another_token(alice, alice_token):
    before = workbench_state()

    response = TokenClient(alice_token[1]).send("POST", f"{V1}/tokens/", {"name": "x"})

    assert_error(response, 403, "signed-in browser session")
    assert workbench_state() == before


def test_a_token_needs_a_name(alice, login_as):
    response = login_as(alice).post(
        f"{V1}/tokens/", {"name": "  "}, content_type="application/json"
    )

    assert_error(response, 400, "name:")
    assert not PersonalAccessToken.objects.exists()


def test_revoking_a_token_stops_it_at_once(alice_token):
    record, token = alice_token
    client = TokenClient(token)

    revoked = client.delete(f"{V1}/tokens/{record.pk}/")
    after = client.get(f"{V1}/tokens/")

    assert revoked.status_code == 204
    assert_error(after, 401, "revoked")
    record.refresh_from_db()
    assert record.revoked_at is not None


def test_revoking_twice_is_a_400(alice, alice_token, login_as):
    record, _ = alice_token
    client = login_as(alice)
    client.delete(f"{V1}/tokens/{record.pk}/")

    response = client.delete(f"{V1}/tokens/{record.pk}/")

    assert_error(response, 400, "token: laptop is already revoked")


def test_nobody_sees_or_revokes_another_persons_token(alice_token, members):
    record, _ = alice_token
    bob = token_client(members[Role.ADMIN])

    listed = bob.get(f"{V1}/tokens/")
    revoked = bob.delete(f"{V1}/tokens/{record.pk}/")

    assert record.pk not in [row["id"] for row in listed.json()["data"]]
    assert_error(revoked, 404, "No such access token")
    record.refresh_from_db()
    assert record.revoked_at is None


def test_anonymous_requests_cannot_list_or_create_tokens(client):
    assert client.get(f"{V1}/tokens/").status_code == 401
    created = client.post(f"{V1}/tokens/", {"name": "x"}, "application/json")
    assert created.status_code == 401
    assert not PersonalAccessToken.objects.exists()


# Session authentication and CSRF ---------------------------------------------


@pytest.fixture
def browser(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_a_session_write_without_the_csrf_token_is_refused(browser):
    response = browser.post(
        f"{V1}/tokens/", json.dumps({"name": "x"}), content_type="application/json"
    )

    assert_error(response, 403, "CSRF")
    assert not PersonalAccessToken.objects.exists()


def test_a_session_write_with_the_csrf_token_goes_through(browser):
    secret = _get_new_csrf_string()
    browser.cookies["csrftoken"] = secret

    response = browser.post(
        f"{V1}/tokens/",
        json.dumps({"name": "x"}),
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )

    assert response.status_code == 201, response.content
    assert PersonalAccessToken.objects.count() == 1


def test_a_session_read_needs_no_csrf_token(browser):
    assert browser.get(f"{V1}/projects/").status_code == 200


def test_a_token_write_needs_no_csrf_token(alice, alice_token, project):
    client = TokenClient(alice_token[1], enforce_csrf_checks=True)
    client.cookies["sessionid"] = "not-a-session"

    response = client.delete(f"{V1}/tokens/{alice_token[0].pk}/")

    assert response.status_code == 204


def test_a_session_prompt_write_without_csrf_changes_nothing(project, members):
    client = Client(enforce_csrf_checks=True)
    client.force_login(members[Role.EDITOR])

    response = client.post(
        f"{V1}/projects/acme/prompts/",
        json.dumps({"name": "p", "prompt": "x", "commitMessage": "c"}),
        content_type="application/json",
    )

    assert_error(response, 403, "CSRF")
    assert not project.prompts.exists()


# Projects ---------------------------------------------------------------------


def test_each_person_lists_only_their_projects_with_their_role(
    members, other_member, outsider
):
    acme = token_client(members[Role.REVIEWER]).get(f"{V1}/projects/").json()
    globex = token_client(other_member).get(f"{V1}/projects/").json()
    nowhere = token_client(outsider).get(f"{V1}/projects/").json()

    assert acme["data"] == [
        {
            "slug": "acme",
            "name": "Acme",
            "role": "reviewer",
            "protectedLabels": [],
            "requiredApprovals": 1,
            "authorApprovalCounts": False,
            "namingRule": "",
        }
    ]
    assert [row["slug"] for row in globex["data"]] == ["globex"]
    assert nowhere["data"] == []


# The role x endpoint matrix ---------------------------------------------------

VIEWERS = set(Role.values)
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


@dataclass
class World:
    project: object
    members: dict
    extra: object
    webhook: object
    delivery: object


@pytest.fixture
def world(project, members, other_project, other_member):
    extra = make_member(project, Role.VIEWER, username="acme-extra")
    get_user_model().objects.create_user(
        username="newbie", email="newbie@example.com", password="pw"
    )
    webhook = Webhook.objects.create(
        project=project, url=PUBLIC_URL, secret="s3cret", events=["label.moved"]
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="label.moved", payload={"label": "production"}
    )
    prompt_services.version_create(
        project=project, name="greeting", content="Hi", actor=members[Role.EDITOR]
    )
    return World(project, members, extra, webhook, delivery)


def _members_listed(world, response):
    names = [row["user"] for row in response.json()["data"]]
    assert names == sorted(
        [*(user.username for user in world.members.values()), "acme-extra"]
    )


def _member_added(world, response):
    membership = Membership.objects.get(project=world.project, user__username="newbie")
    assert membership.role == Role.REVIEWER
    assert response.json()["user"] == "newbie"


def _role_changed(world, response):
    membership = Membership.objects.get(user=world.extra)
    assert membership.role == Role.EDITOR


def _member_removed(world, response):
    assert not Membership.objects.filter(user=world.extra).exists()


def _audit_listed(world, response):
    (entry,) = response.json()["data"]
    assert (entry["action"], entry["prompt"]) == ("version created", "greeting")
    assert entry["actor"] == "acme-editor"


def _webhooks_listed(world, response):
    (hook,) = response.json()["data"]
    assert hook["url"] == PUBLIC_URL
    assert "secret" not in hook


def _webhook_created(world, response):
    hook = Webhook.objects.get(pk=response.json()["id"])
    assert response.json()["secret"] == hook.secret
    assert hook.events == ["version.created"]


def _webhook_deleted(world, response):
    assert not Webhook.objects.filter(pk=world.webhook.pk).exists()


def _deliveries_listed(world, response):
    (delivery,) = response.json()["data"]
    assert delivery["id"] == str(world.delivery.pk)
    assert delivery["payload"] == {"label": "production"}


CASES = [
    Case("list members", "GET", lambda w: f"{V1}/projects/acme/members/", VIEWERS,
         check=_members_listed),
    Case("add a member", "POST", lambda w: f"{V1}/projects/acme/members/", ADMINS,
         201, {"user": "newbie@example.com", "role": "reviewer"}, _member_added),
    Case("change a role", "PATCH",
         lambda w: f"{V1}/projects/acme/members/acme-extra/", ADMINS,
         body={"role": "editor"}, check=_role_changed),
    Case("remove a member", "DELETE",
         lambda w: f"{V1}/projects/acme/members/acme-extra/", ADMINS, 204,
         check=_member_removed),
    Case("read the audit log", "GET",
         lambda w: f"{V1}/projects/acme/audit-log/?action=version+created",
         VIEWERS, check=_audit_listed),
    Case("list webhooks", "GET", lambda w: f"{V1}/projects/acme/webhooks/", ADMINS,
         check=_webhooks_listed),
    Case("register a webhook", "POST", lambda w: f"{V1}/projects/acme/webhooks/",
         ADMINS, 201, {"url": PUBLIC_URL, "events": ["version.created"]},
         _webhook_created),
    Case("delete a webhook", "DELETE",
         lambda w: f"{V1}/projects/acme/webhooks/{w.webhook.pk}/", ADMINS, 204,
         check=_webhook_deleted),
    Case("list deliveries", "GET",
         lambda w: f"{V1}/projects/acme/webhooks/{w.webhook.pk}/deliveries/",
         ADMINS, check=_deliveries_listed),
]  # fmt: skip


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_endpoint_answers_each_persona_as_its_role_allows(
    case, who, world, outsider, other_member
):
    client = persona_client(
        who, members=world.members, outsider=outsider, other_member=other_member
    )
    before = workbench_state()

    response = client.send(case.method, case.path(world), case.body)

    if who in case.allowed:
        assert response.status_code == case.status, response.content
        case.check(world, response)
    else:
        assert_error(response, expected_refusal(who))
        assert workbench_state() == before


# Members: input errors --------------------------------------------------------


@pytest.fixture
def admin(world):
    return token_client(world.members[Role.ADMIN])


def test_adding_someone_already_in_the_project_is_refused(world, admin):
    before = workbench_state()

    response = admin.send(
        "POST", f"{V1}/projects/acme/members/", {"user": "acme-extra", "role": "admin"}
    )

    assert_error(response, 400, "user: acme-extra is already a member of Acme")
    assert workbench_state() == before


def test_adding_an_unknown_account_is_refused(world, admin):
    response = admin.send(
        "POST", f"{V1}/projects/acme/members/", {"user": "ghost", "role": "viewer"}
    )

    assert_error(response, 400, "user: no account has the user name or email")


def test_a_bad_role_is_a_400_naming_the_field(world, admin):
    response = admin.send(
        "PATCH", f"{V1}/projects/acme/members/acme-extra/", {"role": "owner"}
    )

    assert_error(response, 400, "role:")
    assert Membership.objects.get(user=world.extra).role == Role.VIEWER


def test_the_last_admin_cannot_step_down(world, admin):
    response = admin.send(
        "PATCH", f"{V1}/projects/acme/members/acme-admin/", {"role": "viewer"}
    )

    assert_error(response, 400, "acme-admin is the last admin of Acme")
    assert Membership.objects.get(user=world.members[Role.ADMIN]).role == Role.ADMIN


def test_a_member_of_another_project_cannot_be_changed_from_here(
    world, admin, other_member
):
    response = admin.send(
        "PATCH", f"{V1}/projects/acme/members/globex-admin/", {"role": "viewer"}
    )

    assert_error(response, 404, "globex-admin is not a member of Acme")
    assert Membership.objects.get(user=other_member).role == Role.ADMIN


# Audit log --------------------------------------------------------------------


def test_the_audit_log_filters_by_person_prompt_and_days(world, admin):
    prompt_services.version_create(
        project=world.project, name="other", content="x", actor=world.members["admin"]
    )
    today = timezone.localdate().isoformat()

    def actions(**query):
        response = admin.get(f"{V1}/projects/acme/audit-log/", query)
        assert response.status_code == 200, response.content
        return [(row["action"], row["prompt"]) for row in response.json()["data"]]

    assert actions(person="acme-admin", action="version created") == [
        ("version created", "other")
    ]
    assert actions(prompt="GREET", action="version created") == [
        ("version created", "greeting")
    ]
    assert actions(person="ghost") == []
    assert actions(**{"from": today, "to": today, "action": "version created"}) == [
        ("version created", "other"),
        ("version created", "greeting"),
    ]
    assert actions(**{"to": "2000-01-01"}) == []


def test_the_audit_log_pages(world, admin):
    response = admin.get(f"{V1}/projects/acme/audit-log/", {"page": 1})

    assert response.json()["meta"] == {"page": 1, "limit": 50, "hasNext": False}


def test_a_bad_audit_filter_is_a_400_naming_it(world, admin):
    response = admin.get(
        f"{V1}/projects/acme/audit-log/", {"action": "nuked", "from": "yesterday"}
    )

    body = assert_error(response, 400, "action:", "from:")
    assert set(body["details"]) == {"action", "from"}


def test_the_audit_log_holds_only_this_projects_records(
    world, other_project, other_member
):
    prompt_services.version_create(
        project=other_project, name="globex-secret", content="x", actor=other_member
    )

    acme = token_client(world.members[Role.VIEWER])
    rows = acme.get(f"{V1}/projects/acme/audit-log/").json()["data"]

    assert "globex-secret" not in {row["prompt"] for row in rows}
    assert "globex-admin" not in {row["actor"] for row in rows}


# Webhooks ---------------------------------------------------------------------


def test_a_webhook_to_a_private_address_is_refused(world, admin):
    before = workbench_state()

    response = admin.send(
        "POST",
        f"{V1}/projects/acme/webhooks/",
        {"url": "http://127.0.0.1/hook", "events": ["label.moved"]},
    )

    assert_error(response, 400, "url:", "loopback")
    assert workbench_state() == before


def test_a_webhook_needs_known_events(world, admin):
    response = admin.send(
        "POST",
        f"{V1}/projects/acme/webhooks/",
        {"url": PUBLIC_URL, "events": ["prompt.exploded"]},
    )

    assert_error(response, 400, "events: unknown event 'prompt.exploded'")


def test_another_projects_webhook_is_not_reachable_from_here(world, other_project):
    foreign = Webhook.objects.create(
        project=other_project, url=PUBLIC_URL, secret="x", events=["label.moved"]
    )
    admin = token_client(world.members[Role.ADMIN])

    deleted = admin.delete(f"{V1}/projects/acme/webhooks/{foreign.pk}/")
    deliveries = admin.get(f"{V1}/projects/acme/webhooks/{foreign.pk}/deliveries/")

    assert deleted.status_code == deliveries.status_code == 404
    assert Webhook.objects.filter(pk=foreign.pk).exists()


def test_the_other_member_persona_is_an_admin_elsewhere(world, other_member):
    client = persona_client(
        OTHER_MEMBER, members=world.members, outsider=None, other_member=other_member
    )

    response = client.get(f"{V1}/projects/globex/members/")

    assert response.status_code == 200


# The schema -----------------------------------------------------------------


def test_the_schema_documents_the_native_api_and_its_token(client):
    response = client.get("/api/schema/", {"format": "json"})

    schema = response.json()
    assert response.status_code == 200
    move = schema["paths"]["/api/v1/projects/{slug}/prompts/{prompt_id}/labels/move/"]
    assert move["post"]["operationId"] == "labels_move"
    assert set(move["post"]["responses"]) == {"200", "400", "401", "403", "404"}
    assert schema["components"]["securitySchemes"]["accessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "wbt_<prefix>_<secret>",
    }
