"""Numbers typed by people and scripts: too large for any database column, or
not numbers at all. Each is a 400 naming the field or a 404, never a 500; a
page number past the end shows the last page (pages) or an empty one (API)."""

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse

from prompts import services
from prompts.models import Comment, PromptVersion
from prompts.services.comments import comment_add
from workbench.api.errors import exception_handler
from workbench.models import Role

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
NOT_A_NUMBER = "abc"
BAD_NUMBERS = [HUGE, NOT_A_NUMBER]


@pytest.fixture
def world(project, members):
    """A prompt with two versions and a comment; ``client`` is its admin's."""
    services.version_create(project=project, name="greeting", content="Hi\nthere")
    version = services.version_create(
        project=project, name="greeting", content="Hello\nthere"
    )
    comment = comment_add(version=version, actor=members[Role.REVIEWER], body="Hm")
    return {
        "project": project,
        "version": version,
        "prompt": version.prompt,
        "comment": comment,
        "admin": members[Role.ADMIN],
    }


def page_path(world, template, bad):
    return template.format(
        x=bad,
        p=f"/p/{world['project'].slug}",
        v=world["version"].pk,
        prompt=world["prompt"].pk,
        api=f"/api/v1/projects/{world['project'].slug}",
    )


# (method, path template, form fields or None): {x} is the bad number.
PAGE_CASES = [
    ("post", "{p}/versions/{v}/comments/", {"body": "Hm", "parent": "{x}"}),
    ("post", "{p}/versions/{v}/comments/", {"body": "Hm", "line": "{x}"}),
    ("post", "{p}/versions/{v}/comments/", {"body": "Hm", "message": "{x}"}),
    ("get", "{p}/versions/{v}/comments/form/", {"line": "{x}"}),
    ("get", "{p}/versions/{v}/comments/form/", {"message": "{x}", "line": "1"}),
    ("post", "{p}/comments/{x}/edit/", {"body": "Hm"}),
    ("post", "{p}/comments/{x}/delete/", {}),
    ("post", "{p}/comments/{x}/resolve/", {}),
    ("post", "{p}/versions/{v}/review/request/", {"reviewers": "{x}"}),
    ("post", "{p}/labels/{prompt}/move/", {"label": "staging", "version": "{x}"}),
    (
        "post",
        "{p}/edit/greeting/",
        {"content": "Hey", "commit_message": "m", "base_version": "{x}"},
    ),
    ("get", "{p}/diff/greeting/", {"from": "{x}"}),
    ("get", "{p}/diff/greeting/", {"to": "{x}"}),
    ("get", "{p}/prompts/greeting/v/{x}/", {}),
    ("post", "{p}/settings/webhooks/{x}/toggle/", {"active": "1"}),
    ("post", "{p}/settings/webhooks/{x}/delete/", {}),
    ("get", "{p}/settings/webhooks/{x}/deliveries/", {}),
]


def filled(data, bad):
    return {key: value.replace("{x}", bad) for key, value in data.items()}


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize(("method", "template", "data"), PAGE_CASES)
def test_a_page_answers_a_bad_number_with_a_400_or_404(
    login_as, world, method, template, data, bad
):
    client = login_as(world["admin"])
    comments_before = Comment.objects.count()

    path = page_path(world, template, bad)
    response = getattr(client, method)(path, filled(data, bad))

    assert response.status_code in (400, 404), response.status_code
    assert Comment.objects.count() == comments_before
    assert PromptVersion.objects.filter(prompt=world["prompt"]).count() == 2


def json_body(data, bad):
    """The body with the bad value as a JSON number when it is one."""
    value = int(bad) if bad.isdigit() else bad
    return json.dumps(
        {key: value if raw == "{x}" else raw for key, raw in data.items()}
    )


PROMPT = "{api}/prompts/{prompt}"
API_CASES = [
    ("get", "{api}/prompts/?limit={x}", None),
    ("get", PROMPT + "/versions/{x}/", None),
    ("get", PROMPT + "/history/?limit={x}", None),
    ("post", PROMPT + "/versions/2/comments/", {"body": "Hm", "parent": "{x}"}),
    ("post", PROMPT + "/versions/2/comments/", {"body": "Hm", "line": "{x}"}),
    ("post", PROMPT + "/versions/2/comments/", {"body": "Hm", "message": "{x}"}),
    ("patch", PROMPT + "/comments/{x}/", {"body": "Hm"}),
    ("delete", PROMPT + "/comments/{x}/", None),
    ("post", PROMPT + "/comments/{x}/resolve/", None),
    ("post", PROMPT + "/labels/move/", {"label": "staging", "version": "{x}"}),
    ("delete", "{api}/folder-grants/{x}/", None),
    ("delete", "{api}/webhooks/{x}/", None),
    ("get", "{api}/webhooks/{x}/deliveries/", None),
    ("delete", "/api/v1/tokens/{x}/", None),
]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize(("method", "template", "data"), API_CASES)
def test_the_native_api_answers_a_bad_number_with_a_json_400_or_404(
    login_as, world, method, template, data, bad
):
    client = login_as(world["admin"])

    path = page_path(world, template, bad)
    if data is None:
        response = getattr(client, method)(path)
    else:
        response = getattr(client, method)(
            path, json_body(data, bad), content_type="application/json"
        )

    assert response.status_code in (400, 404), response.status_code
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]
    assert Comment.objects.count() == 1


PUBLIC_CASES = [
    ("get", "/api/public/v2/prompts/greeting?version={x}"),
    ("get", "/api/public/v2/prompts?limit={x}"),
    ("delete", "/api/public/v2/prompts/greeting?version={x}"),
]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize(("method", "template"), PUBLIC_CASES)
def test_the_public_api_answers_a_bad_number_with_a_json_400_or_404(
    api, world, method, template, bad
):
    response = getattr(api, method)(template.replace("{x}", bad))

    assert response.status_code in (400, 404), response.status_code
    assert response["Content-Type"] == "application/json"
    assert PromptVersion.objects.filter(prompt=world["prompt"]).count() == 2


# Page numbers -----------------------------------------------------------------


def test_a_page_number_past_the_end_of_the_audit_log_shows_the_last_page(
    login_as, world
):
    client = login_as(world["admin"])
    audit = reverse("audit-log", args=[world["project"].slug])

    first = client.get(audit)
    huge = client.get(audit, {"page": HUGE})
    not_a_number = client.get(audit, {"page": NOT_A_NUMBER})

    assert huge.status_code == 200
    assert huge.context["page"] == 1
    assert huge.context["entries"] == first.context["entries"]
    assert not_a_number.context["entries"] == first.context["entries"]


def test_the_audit_page_past_the_end_is_the_last_full_page(login_as, world):
    for number in range(3, 60):
        services.version_create(
            project=world["project"], name="greeting", content=f"v{number}"
        )
    client = login_as(world["admin"])
    audit = reverse("audit-log", args=[world["project"].slug])

    response = client.get(audit, {"page": "7"})

    assert response.status_code == 200
    assert response.context["page"] == 2
    assert response.context["older_query"] is None
    assert response.context["newer_query"] == ""
    assert response.context["entries"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/acme/audit-log/",
        "/api/v1/projects/acme/prompts/",
    ],
)
def test_a_native_api_page_past_the_end_is_empty(login_as, world, path):
    response = login_as(world["admin"]).get(path, {"page": HUGE})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert login_as(world["admin"]).get(path, {"page": "abc"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/public/v2/prompts",
        "/api/public/traces",
        "/api/public/sessions",
        "/api/public/v2/scores",
        "/api/public/observations",
        "/api/public/models",
    ],
)
def test_a_public_api_page_past_the_end_is_empty(api, world, path):
    response = api.get(path, {"page": HUGE})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert api.get(path, {"page": NOT_A_NUMBER}).status_code == 400


# Messages -------------------------------------------------------------------


def test_a_reviewer_id_out_of_range_is_a_400_naming_reviewers(login_as, world):
    client = login_as(world["admin"])
    version = world["version"]

    response = client.post(
        reverse("review-request", args=[world["project"].slug, version.pk]),
        {"reviewers": HUGE},
    )

    assert response.status_code == 400
    assert "reviewers: is out of range" in response.content.decode()
    assert not version.review_requests.exists()


def test_an_edit_form_from_no_version_of_the_prompt_is_refused(login_as, world):
    client = login_as(world["admin"])

    response = client.post(
        reverse("prompt-edit", args=[world["project"].slug, "greeting"]),
        {"content": "Hey", "commit_message": "m", "base_version": HUGE},
    )

    assert response.status_code == 400
    assert (
        "which this prompt does not have"
        in response.context["form"].errors["base_version"]
    )
    assert response.context["form"].base_version == 2
    assert world["prompt"].versions.count() == 2


def test_an_unknown_api_path_is_a_json_404(login_as, world):
    client = login_as(world["admin"])

    for path in ("/api/v1/tokens/abc/", "/api/v1/nothing-here/", "/api/public/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "LangfuseNotFoundError"
    page = client.get("/p/acme/nothing-here/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_a_models_own_validation_error_in_an_api_view_is_a_json_400():
    response = exception_handler(DjangoValidationError({"name": ["is odd"]}), {})

    assert response.status_code == 400
    assert response.data["message"] == "Invalid request data: name: is odd"
    assert response.data["error"] == "InvalidRequestError"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/projects/globex/audit-log/", 404),
        ("/api/v1/projects/acme/webhooks/", 403),
    ],
)
def test_refusals_of_the_native_api_are_json(login_as, members, path, status):
    response = login_as(members[Role.EDITOR]).get(path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]
