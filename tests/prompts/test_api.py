"""The Langfuse-compatible prompt API: every endpoint, happy and error paths."""

import base64
import json

import pytest
from django.test import Client

from prompts.models import Label, LabelMove, Prompt, PromptVersion
from workbench.models import NamingRule

from .conftest import prompt_path

pytestmark = pytest.mark.django_db

BASE = "/api/public/v2/prompts"


def stored():
    return (
        list(Prompt.objects.order_by("name").values_list("name", "tags")),
        list(
            PromptVersion.objects.order_by("id").values_list("prompt__name", "number")
        ),
        list(Label.objects.order_by("id").values_list("name", "version__number")),
        LabelMove.objects.count(),
    )


def post(api, body):
    return api.post(BASE, data=json.dumps(body), content_type="application/json")


def patch(api, name, version, body, **kwargs):
    return api.patch(
        prompt_path(name, suffix=f"/versions/{version}", **kwargs),
        data=json.dumps(body),
        content_type="application/json",
    )


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"message", "error"}
    for fragment in fragments:
        assert fragment in body["message"]
    return body


# GET one prompt -----------------------------------------------------------


def test_get_returns_the_production_version_with_every_field(
    api, project, make_version
):
    make_version(name="greeting", labels=["production"], tags=["t1"])
    make_version(name="greeting", content="v2", commit_message="second")

    response = api.get(prompt_path("greeting"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    version = PromptVersion.objects.get(prompt__name="greeting", number=1)
    assert body == {
        "id": str(version.id),
        "name": "greeting",
        "version": 1,
        "type": "text",
        "prompt": "Hello {{name}}",
        "config": {},
        "labels": ["production"],
        "tags": ["t1"],
        "commitMessage": None,
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "createdBy": "system",
        "resolutionGraph": None,
        "isActive": True,
        "projectId": str(project.id),
    }
    assert body["createdAt"].endswith("Z") and len(body["createdAt"]) == 24


def test_get_by_label_and_by_version(api, make_version):
    make_version(name="g", labels=["staging"])
    make_version(name="g", content="v2")

    by_label = api.get(prompt_path("g"), {"label": "staging"}).json()
    by_version = api.get(prompt_path("g"), {"version": "2"}).json()
    latest = api.get(prompt_path("g"), {"label": "latest"}).json()

    assert (by_label["version"], by_label["labels"]) == (1, ["staging"])
    assert (by_version["version"], by_version["prompt"]) == (2, "v2")
    assert by_version["labels"] == ["latest"] and by_version["isActive"] is False
    assert latest["version"] == 2


def test_a_label_called_3_is_not_version_3(api, make_version):
    make_version(name="g", labels=["3"])
    make_version(name="g", content="v2")
    make_version(name="g", content="v3")

    by_label = api.get(prompt_path("g"), {"label": "3"}).json()
    by_version = api.get(prompt_path("g"), {"version": "3"}).json()

    assert (by_label["version"], by_label["prompt"]) == (1, "Hello {{name}}")
    assert (by_version["version"], by_version["prompt"]) == (3, "v3")


def test_get_a_chat_prompt(api, make_version):
    messages = [
        {"role": "system", "content": "You are {{persona}}"},
        {"type": "placeholder", "name": "history"},
    ]
    make_version(
        name="chat",
        type="chat",
        content=messages,
        labels=["production"],
        config={"model": "gpt-4o", "temperature": 0.2},
    )

    body = api.get(prompt_path("chat")).json()

    assert body["type"] == "chat"
    assert body["prompt"] == messages
    assert body["config"] == {"model": "gpt-4o", "temperature": 0.2}


def test_get_answers_404_in_langfuse_words(api, make_version):
    make_version(name="g")

    no_production = api.get(prompt_path("g"))
    no_version = api.get(prompt_path("g"), {"version": "9"})
    no_prompt = api.get(prompt_path("missing"), {"label": "staging"})

    body = assert_error(no_production, 404)
    assert body == {
        "message": "Prompt not found: 'g' with label 'production'",
        "error": "LangfuseNotFoundError",
    }
    assert_error(no_version, 404, "Prompt not found: 'g' with version 9")
    assert_error(no_prompt, 404, "Prompt not found: 'missing' with label 'staging'")


@pytest.mark.parametrize("label", ["Not A Label", "Production", "a" * 37, "é"])
def test_get_refuses_a_label_no_label_could_have(api, make_version, label):
    make_version(name="g", labels=["production"])

    response = api.get(prompt_path("g"), {"label": label})

    body = assert_error(response, 400, f"label: {label!r} is not a valid label")
    assert body["error"] == "InvalidRequestError"


def test_a_bad_label_with_a_bad_key_is_a_401_first(make_version):
    make_version(name="g", labels=["production"])
    wrong = Client(HTTP_AUTHORIZATION="Basic cGstbGYteDpzay1sZi15")

    response = wrong.get(prompt_path("g"), {"label": "Not A Label"})

    assert response.status_code == 401


@pytest.mark.parametrize("version", ["abc", "1.5", "-1", "0", "", "٣"])
def test_get_refuses_a_version_that_is_not_a_positive_integer(
    api, make_version, version
):
    make_version(name="g", labels=["production"])

    response = api.get(prompt_path("g"), {"version": version})

    assert_error(response, 400, "version:")


def test_get_refuses_both_label_and_version(api, make_version):
    make_version(name="g", labels=["production"])

    response = api.get(prompt_path("g"), {"version": "1", "label": "production"})

    assert_error(response, 400, "either version or label")


def test_get_needs_a_valid_key(make_version):
    make_version(name="g", labels=["production"])

    missing = Client().get(prompt_path("g"))
    wrong = Client(HTTP_AUTHORIZATION="Basic cGstbGYteDpzay1sZi15").get(
        prompt_path("g")
    )

    assert_error(missing, 401, "authorization")
    assert missing["WWW-Authenticate"] == 'Basic realm="api"'
    assert_error(wrong, 401, "Invalid credentials")


def test_another_projects_key_cannot_see_the_prompt(other_api, make_version):
    make_version(name="g", labels=["production"])

    response = other_api.get(prompt_path("g"))

    assert_error(response, 404, "Prompt not found: 'g'")


NAMES = [
    "folder/sub/name",
    "with space & ?#",
    "percent %2F literal",
    "ünïcödé/日本語/имя",
    "emoji 🚀 plus+sign",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("encode_slashes", [True, False], ids=["5.x", "2.x"])
def test_names_round_trip_encoded_and_unencoded(
    api, make_version, name, encode_slashes
):
    make_version(name=name, content=f"body of {name}", labels=["production"])

    response = api.get(prompt_path(name, encode_slashes=encode_slashes))

    assert response.status_code == 200, response.content
    assert response.json()["name"] == name
    assert response.json()["prompt"] == f"body of {name}"


def test_the_raw_request_line_with_percent_2f_reaches_the_folder_prompt(
    api, make_version
):
    make_version(name="folder/sub/name", labels=["production"])

    # Exactly the 5.x request line from the capture.
    response = api.get("/api/public/v2/prompts/folder%2Fsub%2Fname?label=production")

    assert response.json()["name"] == "folder/sub/name"


# ETag ---------------------------------------------------------------------


def test_etag_and_if_none_match(api, make_version):
    make_version(name="g", labels=["production"])

    first = api.get(prompt_path("g"))
    etag = first["ETag"]
    again = api.get(prompt_path("g"), HTTP_IF_NONE_MATCH=etag)
    weak = api.get(prompt_path("g"), HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    stale = api.get(prompt_path("g"), HTTP_IF_NONE_MATCH='"stale"')

    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    assert weak.status_code == 304
    assert stale.status_code == 200 and stale.json()["name"] == "g"


def test_the_etag_changes_with_the_body(api, make_version, committed):
    with committed():
        version = make_version(name="g", labels=["production"])
    before = api.get(prompt_path("g"))["ETag"]
    with committed():
        make_version(name="g", content="v2", labels=["production"])

    after = api.get(prompt_path("g"), HTTP_IF_NONE_MATCH=before)

    assert after.status_code == 200
    assert after["ETag"] != before
    assert after.json()["version"] == version.number + 1


# List ---------------------------------------------------------------------


def test_list_returns_one_row_per_prompt_sorted_by_name(api, make_version):
    make_version(name="b", labels=["production"], tags=["x"])
    make_version(name="b", content="v2", config={"model": "m"})
    make_version(name="a", labels=["staging"])

    response = api.get(BASE)

    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["data"]] == ["a", "b"]
    b_row = body["data"][1]
    assert b_row["type"] == "text"
    assert b_row["versions"] == [1, 2]
    assert b_row["labels"] == ["latest", "production"]
    assert b_row["tags"] == ["x"]
    assert b_row["lastConfig"] == {"model": "m"}
    assert b_row["lastUpdatedAt"].endswith("Z")
    assert body["meta"] == {"page": 1, "limit": 10, "totalItems": 2, "totalPages": 1}


def test_list_filters_by_name_label_and_tag(api, make_version):
    make_version(name="a", tags=["red"], labels=["production"])
    make_version(name="b", tags=["blue"])
    make_version(name="c", tags=["red", "blue"])

    def names(**query):
        return [row["name"] for row in api.get(BASE, query).json()["data"]]

    assert names(name="b") == ["b"]
    assert names(label="production") == ["a"]
    assert names(tag="red") == ["a", "c"]
    assert names(tag="blue", label="latest") == ["b", "c"]
    assert names(tag="green") == []


def test_list_filters_by_update_time(api, make_version):
    make_version(name="old")
    Prompt.objects.filter(name="old").update(updated_at="2020-01-01T00:00:00Z")
    make_version(name="recent")

    def names(**query):
        return [row["name"] for row in api.get(BASE, query).json()["data"]]

    assert names(fromUpdatedAt="2021-01-01T00:00:00Z") == ["recent"]
    assert names(toUpdatedAt="2021-01-01T00:00:00+00:00") == ["old"]
    # An unencoded "+" arrives as a space; it still means an offset.
    assert (
        api.get(f"{BASE}?toUpdatedAt=2021-01-01T00:00:00+00:00").json()["data"][0][
            "name"
        ]
        == "old"
    )


def test_list_pages(api, make_version):
    for index in range(5):
        make_version(name=f"p{index}")

    body = api.get(BASE, {"page": "2", "limit": "2"}).json()

    assert [row["name"] for row in body["data"]] == ["p2", "p3"]
    assert body["meta"] == {"page": 2, "limit": 2, "totalItems": 5, "totalPages": 3}


def test_list_costs_the_same_queries_for_any_page_size(
    api, make_version, django_assert_max_num_queries
):
    for index in range(12):
        make_version(name=f"p{index}", labels=["production"])
    api.get(BASE)  # warm the API key record

    with django_assert_max_num_queries(5):
        response = api.get(BASE, {"limit": "12"})

    assert len(response.json()["data"]) == 12


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "101"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"fromUpdatedAt": "yesterday"}, "fromUpdatedAt"),
        ({"toUpdatedAt": "2024-13-01T00:00:00Z"}, "toUpdatedAt"),
        ({"toUpdatedAt": "2024-01-01T00:00:00"}, "toUpdatedAt"),
    ],
)
def test_list_refuses_bad_query_values(api, query, field):
    assert_error(api.get(BASE, query), 400, f"{field}:")


def test_list_needs_a_key_and_shows_only_the_keys_project(other_api, make_version):
    make_version(name="a")

    assert_error(Client().get(BASE), 401)
    body = other_api.get(BASE).json()
    assert body["data"] == [] and body["meta"]["totalItems"] == 0


# Create -------------------------------------------------------------------


def test_create_a_text_prompt_as_5x_sends_it(api):
    response = post(
        api,
        {
            "name": "movie-critic",
            "prompt": "As a {{criticlevel}} critic, rate {{movie}}",
            "config": {"model": "gpt-4o", "temperature": 0.7},
            "labels": ["production"],
            "tags": ["movies"],
            "commitMessage": "first",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1 and body["type"] == "text"
    assert body["labels"] == ["latest", "production"]
    assert body["tags"] == ["movies"]
    assert body["commitMessage"] == "first"
    assert body["createdBy"] == "API"
    assert body["config"] == {"model": "gpt-4o", "temperature": 0.7}
    assert LabelMove.objects.filter(moved_by_name="API").count() == 2


def test_create_a_chat_prompt_with_explicit_nulls(api):
    response = post(
        api,
        {
            "name": "folder/chat-bot",
            "prompt": [
                {"role": "system", "content": "You are {{persona}}"},
                {"name": "history", "type": "placeholder"},
            ],
            "config": {},
            "type": "chat",
            "labels": ["staging"],
            "tags": None,
            "commitMessage": None,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "chat" and body["tags"] == []
    assert body["prompt"][1] == {"type": "placeholder", "name": "history"}


def test_create_as_2x_sends_it_and_without_config(api):
    response = post(
        api,
        {
            "name": "x",
            "prompt": "hi",
            "type": "text",
            "commitMessage": None,
            "labels": [],
            "tags": [],
        },
    )

    assert response.status_code == 201
    assert response.json()["config"] == {}


def test_create_a_second_version_moves_the_labels(api, make_version):
    make_version(name="g", labels=["production"])

    body = post(api, {"name": "g", "prompt": "v2", "labels": ["production"]}).json()

    assert body["version"] == 2
    assert body["labels"] == ["latest", "production"]
    assert api.get(prompt_path("g"), {"version": "1"}).json()["labels"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x"}, "name"),
        ({"name": "x"}, "prompt"),
        ({"name": "a//b", "prompt": "x"}, "name"),
        ({"name": "a\nb", "prompt": "x"}, "name"),
        ({"name": "a/../b", "prompt": "x"}, "name"),
        ({"name": "x", "prompt": "x", "labels": ["latest"]}, "labels"),
        ({"name": "x", "prompt": "x", "labels": ["Bad"]}, "labels"),
        ({"name": "x", "prompt": "x", "type": "image"}, "type"),
        ({"name": "x", "prompt": [{"role": "u"}], "type": "chat"}, "prompt[0].content"),
        ({"name": "x", "prompt": "x", "commitMessage": "m" * 501}, "commitMessage"),
        ({"name": "x", "prompt": "x", "tags": "t"}, "tags"),
        ({"name": "x", "prompt": [], "type": "chat"}, "prompt"),
        ({"name": "x", "prompt": "x", "config": "x"}, "config"),
        ({"name": "x", "prompt": "x", "config": 3}, "config"),
        ({"name": "x", "prompt": "x", "config": []}, "config"),
    ],
)
def test_create_refuses_bad_bodies_and_stores_nothing(api, make_version, body, field):
    make_version(name="existing", labels=["production"])
    before = stored()

    response = post(api, body)

    assert_error(response, 400, f"{field}:")
    assert response.json()["error"] == "InvalidRequestError"
    assert stored() == before


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null", "{broken", "42"])
def test_create_refuses_a_body_that_is_not_a_json_object(api, raw):
    response = api.post(BASE, data=raw, content_type="application/json")

    assert_error(response, 400, "body:")
    assert Prompt.objects.count() == 0


def test_create_refuses_a_type_change(api, make_version):
    make_version(name="g")
    before = stored()

    response = post(
        api, {"name": "g", "type": "chat", "prompt": [{"role": "u", "content": "x"}]}
    )

    assert_error(response, 400, "type:", "text prompt")
    assert stored() == before


def test_create_quotes_the_naming_rule(api, project):
    project.naming_rule = NamingRule.SERVICE_NAME_PROMPT_NAME
    project.save()

    response = post(api, {"name": "lower-case", "prompt": "x"})

    assert_error(response, 400, "name:", "SERVICE_NAME_PROMPT_NAME")
    assert Prompt.objects.count() == 0
    assert post(api, {"name": "QUIZ_GENERATOR", "prompt": "x"}).status_code == 201


def test_create_needs_a_key_and_writes_into_the_keys_project(
    other_api, other_project, project
):
    assert_error(Client().post(BASE, data="{}", content_type="application/json"), 401)

    response = post(other_api, {"name": "g", "prompt": "x"})

    assert response.status_code == 201
    assert response.json()["projectId"] == str(other_project.id)
    assert not Prompt.objects.filter(project=project).exists()


def test_create_is_csrf_exempt(api_key_pair):
    api_key, secret = api_key_pair
    token = base64.b64encode(f"{api_key.public_key}:{secret}".encode()).decode()
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Basic {token}")

    response = post(client, {"name": "g", "prompt": "x"})

    assert response.status_code == 201


# PATCH labels -------------------------------------------------------------


def test_patch_adds_labels_and_moves_them_off_other_versions(api, make_version):
    make_version(name="g", labels=["staging"])
    make_version(name="g", content="v2")

    response = patch(api, "g", 2, {"newLabels": ["staging", "production"]})

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert body["labels"] == ["latest", "production", "staging"]
    assert body["isActive"] is True
    assert api.get(prompt_path("g"), {"version": "1"}).json()["labels"] == []
    assert LabelMove.objects.filter(label="staging", from_version=1, to_version=2)


@pytest.mark.parametrize("encode_slashes", [True, False], ids=["5.x", "2.x"])
def test_patch_a_folder_prompt(api, make_version, encode_slashes):
    make_version(name="team/support/greeting")

    response = patch(
        api,
        "team/support/greeting",
        1,
        {"newLabels": ["production"]},
        encode_slashes=encode_slashes,
    )

    assert response.status_code == 200
    assert response.json()["name"] == "team/support/greeting"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"newLabels": ["latest"]}, "'latest' is managed"),
        ({"newLabels": ["Bad Label"]}, "not a valid label"),
        ({"newLabels": "production"}, "list of strings"),
        ({}, "newLabels: is required"),
    ],
)
def test_patch_refuses_bad_labels(api, make_version, body, fragment):
    make_version(name="g")
    before = stored()

    response = patch(api, "g", 1, body)

    assert_error(response, 400, fragment)
    assert stored() == before


def test_patch_unknown_prompt_or_version_is_404(api, make_version):
    make_version(name="g")

    assert_error(patch(api, "g", 7, {"newLabels": ["x"]}), 404, "with version 7")
    assert_error(patch(api, "nope", 1, {"newLabels": ["x"]}), 404, "'nope'")


def test_patch_needs_a_key_and_cannot_touch_another_project(other_api, make_version):
    make_version(name="g")
    before = stored()

    anonymous = Client().patch(
        prompt_path("g", suffix="/versions/1"),
        data='{"newLabels":["x"]}',
        content_type="application/json",
    )
    foreign = patch(other_api, "g", 1, {"newLabels": ["production"]})

    assert_error(anonymous, 401)
    assert_error(foreign, 404)
    assert stored() == before


def test_a_protected_label_refuses_an_unapproved_version_with_403(
    api, protected, make_version
):
    make_version(name="g")
    before = stored()

    patched = patch(api, "g", 1, {"newLabels": ["production"]})
    created = post(api, {"name": "g", "prompt": "v2", "labels": ["production"]})

    assert_error(patched, 403, "'production' is protected")
    assert "version 1 is draft" in patched.json()["message"]
    assert patched.json()["error"] == "AccessDeniedError"
    assert_error(created, 403, "'production' is protected")
    assert stored() == before


def test_an_api_key_may_move_a_protected_label_to_an_approved_version(
    api, protected, make_version, approve
):
    approve(make_version(name="g"))

    patched = patch(api, "g", 1, {"newLabels": ["production"]})

    assert patched.status_code == 200
    assert Label.objects.get(name="production").version.number == 1
    assert LabelMove.objects.filter(label="production").get().moved_by_name == "API"


def test_other_methods_on_the_versions_route_treat_the_path_as_a_name(
    api, make_version
):
    make_version(name="g")

    fetched = api.get(prompt_path("g", suffix="/versions/1"))
    put = api.put(prompt_path("g", suffix="/versions/1"))

    assert_error(fetched, 404, "Prompt not found: 'g/versions/1'")
    assert_error(put, 405, "GET, DELETE")


def test_patch_splits_on_the_last_versions_segment(api, make_version):
    make_version(name="release/versions/next")

    response = patch(api, "release/versions/next", 1, {"newLabels": ["beta"]})

    assert response.status_code == 200
    assert response.json()["name"] == "release/versions/next"
    assert response.json()["labels"] == ["beta", "latest"]


# DELETE -------------------------------------------------------------------


def test_delete_a_version_a_label_or_everything(api, make_version):
    make_version(name="g", labels=["production"])
    make_version(name="g", content="v2")
    make_version(name="g", content="v3", labels=["staging"])

    by_version = api.delete(prompt_path("g") + "?version=1")
    by_label = api.delete(prompt_path("g") + "?label=staging")

    assert (by_version.status_code, by_version.content) == (204, b"")
    assert by_label.status_code == 204
    assert list(PromptVersion.objects.values_list("number", flat=True)) == [2]
    assert api.get(prompt_path("g"), {"label": "latest"}).json()["version"] == 2

    everything = api.delete(prompt_path("g"))

    assert everything.status_code == 204
    assert not Prompt.objects.exists()


def test_delete_errors(api, other_api, make_version):
    make_version(name="g")
    before = stored()

    assert_error(api.delete(prompt_path("g") + "?version=1&label=latest"), 400)
    assert_error(api.delete(prompt_path("g") + "?version=x"), 400, "version:")
    assert_error(api.delete(prompt_path("g") + "?version=4"), 404, "with version 4")
    assert_error(api.delete(prompt_path("g") + "?label=gone"), 404, "label 'gone'")
    assert_error(api.delete(prompt_path("nope")), 404)
    assert_error(Client().delete(prompt_path("g")), 401)
    assert_error(other_api.delete(prompt_path("g")), 404)
    assert stored() == before


def test_wrong_methods_are_405_in_json(api):
    assert_error(api.put(BASE), 405)
    assert_error(api.post(prompt_path("g"), data="{}", content_type="x"), 405)


def test_no_trailing_slash_redirects(api, make_version):
    make_version(name="g")

    with_slash = api.get(BASE + "/")

    assert with_slash.status_code == 200
    assert with_slash.json()["meta"]["totalItems"] == 1
