"""/api/public/models: the project's model price definitions."""

import json

import pytest
from django.test import Client

from tracing.models import ModelPrice

URL = "/api/public/models"


def post(api, body):
    return api.post(URL, data=json.dumps(body), content_type="application/json")


def test_create_with_prices_by_usage_key(api, project):
    response = post(
        api,
        {
            "modelName": "quiz-model",
            "matchPattern": "(?i)^quiz-model$",
            "startDate": "2026-01-01T00:00:00Z",
            "unit": "TOKENS",
            "prices": {"input": {"price": 0.000001}, "output": {"price": 0.000002}},
            "tokenizerId": "openai",
            "tokenizerConfig": {"tokenizerModel": "gpt-4o"},
        },
    )

    assert response.status_code == 200
    body = response.json()
    stored = ModelPrice.objects.get(project=project)
    assert body["id"] == str(stored.id)
    assert body["modelName"] == "quiz-model"
    assert body["matchPattern"] == "(?i)^quiz-model$"
    assert body["startDate"] == "2026-01-01T00:00:00Z"
    assert body["inputPrice"] == 0.000001
    assert body["prices"] == {
        "input": {"price": 0.000001},
        "output": {"price": 0.000002},
    }
    assert body["isLangfuseManaged"] is False
    assert body["tokenizerConfig"] == {"tokenizerModel": "gpt-4o"}
    assert stored.prices == {"input": 0.000001, "output": 0.000002}


def test_create_with_flat_legacy_prices(api, project):
    response = post(
        api, {"modelName": "m", "matchPattern": "^m$", "inputPrice": 1, "totalPrice": 3}
    )

    assert response.status_code == 200
    assert ModelPrice.objects.get().prices == {"input": 1.0, "total": 3.0}
    assert response.json()["outputPrice"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"modelName": "m", "matchPattern": "(["}, "matchPattern"),
        ({"matchPattern": "^m$"}, "modelName"),
        ({"modelName": "m", "matchPattern": "^m$", "inputPrice": -1}, "inputPrice"),
        ({"modelName": "m", "matchPattern": "^m$", "unit": "BANANAS"}, "unit"),
        ({"modelName": "m", "matchPattern": "^m$", "startDate": "soon"}, "startDate"),
        (
            {
                "modelName": "m",
                "matchPattern": "^m$",
                "inputPrice": 1,
                "prices": {"input": {"price": 1}},
            },
            "prices",
        ),
    ],
)
def test_invalid_definitions_are_a_400_naming_the_field(api, db, body, field):
    response = post(api, body)

    assert response.status_code == 400
    assert field in response.json()["message"]
    assert ModelPrice.objects.count() == 0


def test_list_get_and_delete_are_scoped_to_the_project(api, other_api, project):
    created = post(api, {"modelName": "m", "matchPattern": "^m$"}).json()
    post(other_api, {"modelName": "theirs", "matchPattern": "^t$"})

    listing = api.get(f"{URL}?page=1&limit=10").json()
    assert [m["modelName"] for m in listing["data"]] == ["m"]
    assert listing["meta"]["totalItems"] == 1
    assert api.get(f"{URL}/{created['id']}").json()["modelName"] == "m"
    assert other_api.get(f"{URL}/{created['id']}").status_code == 404
    assert other_api.delete(f"{URL}/{created['id']}").status_code == 404
    assert ModelPrice.objects.filter(project=project).count() == 1

    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    assert ModelPrice.objects.filter(project=project).count() == 0
    assert api.get(f"{URL}/{created['id']}").status_code == 404


def test_an_unknown_or_malformed_id_is_a_404(api, db):
    assert api.get(f"{URL}/not-a-uuid").status_code == 404
    assert api.get(f"{URL}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_limit_over_100_is_a_400(api, db):
    response = api.get(f"{URL}?limit=500")

    assert response.status_code == 400
    assert "limit" in response.json()["message"]


def test_models_need_a_key(db):
    assert Client().get(URL).status_code == 401
    assert (
        Client().post(URL, data="{}", content_type="application/json").status_code
        == 401
    )
