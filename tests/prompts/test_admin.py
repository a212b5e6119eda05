"""The registry admin: readable, and deletion goes through the service."""

import pytest
from django.contrib.auth import get_user_model

from prompts import services
from prompts.models import Prompt

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


def test_the_prompt_pages_show_versions_and_labels(admin_client, make_version):
    version = make_version(name="g", labels=["production"], commit_message="first")

    listing = admin_client.get("/admin/prompts/prompt/")
    detail = admin_client.get(f"/admin/prompts/prompt/{version.prompt.pk}/change/")
    moves = admin_client.get("/admin/prompts/labelmove/")

    assert listing.status_code == 200 and b">g</a>" in listing.content
    assert detail.status_code == 200
    assert b"production" in detail.content and b"first" in detail.content
    assert moves.status_code == 200 and b"production" in moves.content


def test_nothing_can_be_added_from_the_admin(admin_client):
    assert admin_client.get("/admin/prompts/prompt/add/").status_code == 403
    assert admin_client.get("/admin/prompts/labelmove/add/").status_code == 403


def test_deleting_in_the_admin_uses_the_service(
    admin_client, make_version, monkeypatch
):
    version = make_version(name="g")
    calls = []
    real_delete = services.prompt_delete

    def spy(**kwargs):
        calls.append(kwargs["name"])
        return real_delete(**kwargs)

    monkeypatch.setattr(services, "prompt_delete", spy)

    response = admin_client.post(
        f"/admin/prompts/prompt/{version.prompt.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert calls == ["g"]
    assert not Prompt.objects.exists()
