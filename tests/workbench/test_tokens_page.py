"""The access tokens page: create a token (shown once), list and revoke one's
own; other people's tokens do not exist as far as the page is concerned."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from workbench import services
from workbench.models import PersonalAccessToken, Role

pytestmark = pytest.mark.django_db

PAGE = "/tokens/"
HUGE = "99999999999999999999"


@pytest.fixture
def editor(members):
    return members[Role.EDITOR]


@pytest.fixture
def someone_else(db):
    return get_user_model().objects.create_user(username="someone", password="pw")


def bearer(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_urls_are_outside_any_project():
    assert reverse("access-tokens") == PAGE
    assert reverse("access-token-create") == "/tokens/new/"
    assert reverse("access-token-revoke") == "/tokens/revoke/"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", PAGE), ("post", "/tokens/new/"), ("post", "/tokens/revoke/")],
)
def test_anonymous_visitors_are_sent_to_log_in(client, method, path):
    response = getattr(client, method)(path, {"name": "script"})

    assert response.status_code == 302
    assert response.url.startswith(f"{reverse('login')}?next=")
    assert not PersonalAccessToken.objects.exists()


def test_the_user_menu_links_the_page(login_as, editor):
    html = login_as(editor).get(reverse("home")).content.decode()

    assert f'href="{PAGE}"' in html


def test_a_user_sees_only_their_own_tokens(login_as, editor, someone_else):
    services.access_token_create(user=editor, name="nightly export")
    services.access_token_create(user=someone_else, name="their secret script")

    response = login_as(editor).get(PAGE)

    assert response.status_code == 200
    assert [token.name for token in response.context["tokens"]] == ["nightly export"]
    assert "their secret script" not in response.content.decode()


def test_a_created_token_is_shown_once_and_works_until_revoked(login_as, editor):
    client = login_as(editor)

    created = client.post("/tokens/new/", {"name": "nightly export"})

    assert created.status_code == 200
    assert "no-cache" in created["Cache-Control"]
    token = created.context["new_token"]
    record = PersonalAccessToken.objects.get(user=editor)
    assert record.name == "nightly export"
    assert token.startswith(f"wbt_{record.prefix}_")
    assert token in created.content.decode()
    assert 'data-copy-target="new-token"' in created.content.decode()
    assert token not in client.get(PAGE).content.decode()
    projects = bearer(token).get("/api/v1/projects/")
    assert projects.status_code == 200
    assert [row["slug"] for row in projects.json()["data"]] == ["acme"]

    revoked = client.post("/tokens/revoke/", {"token": str(record.pk)})

    assert revoked.status_code == 302
    assert revoked.url == PAGE
    record.refresh_from_db()
    assert record.revoked_at is not None
    assert bearer(token).get("/api/v1/projects/").status_code == 401
    assert "revoked" in client.get(PAGE).content.decode()


def test_a_token_needs_a_name(login_as, editor):
    response = login_as(editor).post("/tokens/new/", {"name": "  "})

    assert response.status_code == 400
    assert "name must not be empty" in response.content.decode()
    assert not PersonalAccessToken.objects.exists()


def test_nobody_can_revoke_someone_elses_token(login_as, editor, someone_else):
    theirs, token = services.access_token_create(user=someone_else, name="theirs")

    response = login_as(editor).post("/tokens/revoke/", {"token": str(theirs.pk)})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert bearer(token).get("/api/v1/projects/").status_code == 200


@pytest.mark.parametrize("raw", [HUGE, "abc", "", "-1"])
def test_a_token_id_that_names_no_token_is_a_404(login_as, editor, raw):
    mine, _ = services.access_token_create(user=editor, name="mine")

    response = login_as(editor).post("/tokens/revoke/", {"token": raw})

    assert response.status_code == 404
    mine.refresh_from_db()
    assert mine.revoked_at is None


def test_revoking_twice_says_it_is_already_revoked(login_as, editor):
    mine, _ = services.access_token_create(user=editor, name="mine")
    client = login_as(editor)
    client.post("/tokens/revoke/", {"token": str(mine.pk)})

    response = client.post("/tokens/revoke/", {"token": str(mine.pk)})

    assert response.status_code == 400
    assert "mine is already revoked" in response.content.decode()


def test_the_page_only_takes_posts_for_changes(login_as, editor):
    client = login_as(editor)

    assert client.get("/tokens/new/").status_code == 405
    assert client.get("/tokens/revoke/").status_code == 405
