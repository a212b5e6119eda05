import base64

import pytest
from django.utils import timezone

from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_it_answers_health_without_auth(client):
    response = client.get("/api/public/health")

    assert response.status_code == 200
    assert response.json()["status"] == "OK"


def test_it_returns_the_keys_project(api, project):
    response = api.get("/api/public/projects")

    assert response.status_code == 200
    assert response.json()["data"][0]["id"] == str(project.id)
    assert response.json()["data"][0]["name"] == "Acme"


def test_it_rejects_a_missing_key(client, project):
    response = client.get("/api/public/projects")

    assert response.status_code == 401
    assert "authorization" in response.json()["message"].lower()
    assert response.json()["error"] == "UnauthorizedError"


def test_it_rejects_a_wrong_secret(api_key_pair):
    api_key, _ = api_key_pair
    response = ApiClient(api_key.public_key, "sk-lf-wrong").get("/api/public/projects")

    assert response.status_code == 401
    assert "Invalid credentials" in response.json()["message"]


def test_it_rejects_a_revoked_key(api, api_key_pair):
    api_key, _ = api_key_pair
    assert api.get("/api/public/projects").status_code == 200

    api_key.revoked_at = timezone.now()
    api_key.save()
    from workbench.auth import forget_api_key

    forget_api_key(api_key.public_key)

    assert api.get("/api/public/projects").status_code == 401


def test_it_rejects_malformed_basic_credentials(client, project):
    token = base64.b64encode(b"no-colon-here").decode()
    response = client.get("/api/public/projects", HTTP_AUTHORIZATION=f"Basic {token}")

    assert response.status_code == 401
    assert "public_key:secret_key" in response.json()["message"]


def test_it_stores_only_a_hash_of_the_secret(api_key_pair):
    api_key, secret = api_key_pair

    assert secret.startswith("sk-lf-")
    assert api_key.public_key.startswith("pk-lf-")
    assert secret not in api_key.secret_hash
    assert api_key.check_secret(secret)


def test_a_deleted_key_stops_working_at_once_even_from_a_bulk_delete(api, api_key_pair):
    from workbench.models import ApiKey

    assert api.get("/api/public/projects").status_code == 200

    ApiKey.objects.filter(pk=api_key_pair[0].pk).delete()

    assert api.get("/api/public/projects").status_code == 401


def test_a_key_revoked_by_a_plain_update_of_the_row_stops_working(api, api_key_pair):
    api_key, _ = api_key_pair
    assert api.get("/api/public/projects").status_code == 200

    api_key.revoked_at = timezone.now()
    api_key.save()

    assert api.get("/api/public/projects").status_code == 401
