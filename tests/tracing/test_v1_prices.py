"""The native model prices API: per persona, validation, tenant isolation."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.native_api import (
    PERSONAS,
    assert_error,
    expected_refusal,
    persona_client,
    token_client,
)
from tracing.models import BackgroundJob, JobKind, ModelPrice
from workbench.models import Role

pytestmark = pytest.mark.django_db

VIEWERS = set(Role.values)
ADMINS = {Role.ADMIN}
NEW = {
    "modelName": "acme-llm",
    "matchPattern": "^acme-llm$",
    "startDate": "2026-11-01T00:00:00Z",
    "prices": {"input": "0.0000025", "output": "0.00001"},
}


def base(project):
    return f"/api/v1/projects/{project.slug}/model-prices/"


@pytest.fixture
def price(project):
    return ModelPrice.objects.create(
        project=project,
        model_name="gpt-4o-mini",
        match_pattern="^gpt-4o-mini$",
        prices={"input": 0.00000015, "output": 0.0000006},
    )


def state():
    return sorted(
        ModelPrice.objects.values_list("project__slug", "model_name", "prices")
    ), BackgroundJob.objects.count()


@dataclass
class Case:
    id: str
    method: str
    tail: str
    allowed: set
    status: int = 200
    body: dict | None = None


CASES = [
    Case("list", "GET", "", VIEWERS),
    Case("get", "GET", "{pk}/", VIEWERS),
    Case("create", "POST", "", ADMINS, 201, NEW),
    Case("update", "PATCH", "{pk}/", ADMINS, 200, {"prices": {"input": "1E-7"}}),
    Case("delete", "DELETE", "{pk}/", ADMINS, 200),
]


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_endpoint_answers_each_persona_as_its_role_allows(
    case, who, project, price, members, outsider, other_member
):
    client = persona_client(
        who, members=members, outsider=outsider, other_member=other_member
    )
    before = state()
    path = base(project) + case.tail.format(pk=price.pk)

    response = client.send(case.method, path, case.body)

    if who in case.allowed:
        assert response.status_code == case.status, response.content
    else:
        assert_error(response, expected_refusal(who))
        assert state() == before


def test_the_list_and_one_price_read_as_decimal_strings(project, price, members):
    client = token_client(members[Role.VIEWER])

    listed = client.get(base(project)).json()["data"]
    one = client.get(f"{base(project)}{price.pk}/").json()

    assert listed == [one]
    assert one["modelName"] == "gpt-4o-mini"
    assert one["prices"] == {"input": "0.00000015", "output": "0.0000006"}
    assert one["startDate"] is None
    assert one["unit"] == "TOKENS"


def test_creating_stores_the_price_and_names_its_repricing_job(
    project, members, django_capture_on_commit_callbacks
):
    client = token_client(members[Role.ADMIN])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.send("POST", base(project), NEW)

    body = response.json()
    assert response.status_code == 201
    stored = ModelPrice.objects.get(pk=body["id"])
    assert stored.prices == {"input": 0.0000025, "output": 0.00001}
    assert stored.start_date == datetime(2026, 11, 1, tzinfo=UTC)
    job = BackgroundJob.objects.get(kind=JobKind.REPRICE)
    assert body["repricingJob"] == {"id": str(job.pk), "status": "queued"}
    job.refresh_from_db()
    assert job.status == "done"
    assert job.created_by == members[Role.ADMIN]


def test_an_update_keeps_fields_left_out_and_reprices_both_patterns(
    project, price, members
):
    client = token_client(members[Role.ADMIN])

    response = client.send(
        "PATCH", f"{base(project)}{price.pk}/", {"matchPattern": "^gpt-4o-mini-.*$"}
    )

    assert response.status_code == 200, response.content
    price.refresh_from_db()
    assert price.match_pattern == "^gpt-4o-mini-.*$"
    assert price.prices == {"input": 0.00000015, "output": 0.0000006}
    job = BackgroundJob.objects.get(kind=JobKind.REPRICE)
    assert job.params["patterns"] == ["^gpt-4o-mini$", "^gpt-4o-mini-.*$"]


def test_deleting_answers_with_the_repricing_job(project, price, members):
    client = token_client(members[Role.ADMIN])

    response = client.delete(f"{base(project)}{price.pk}/")

    job = BackgroundJob.objects.get(kind=JobKind.REPRICE)
    assert response.json() == {"repricingJob": {"id": str(job.pk), "status": "queued"}}
    assert not ModelPrice.objects.exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"modelName": ""}, "modelName: This field may not be blank."),
        ({"matchPattern": "(["}, "matchPattern: is not a valid regular expression"),
        ({"matchPattern": "(x*)*y"}, "matchPattern: repeats a group"),
        ({"startDate": "soon"}, "startDate: Datetime has wrong format"),
        ({"unit": "BARRELS"}, 'unit: "BARRELS" is not a valid choice.'),
        ({"prices": {"input": "-1"}}, "prices.input: must not be negative"),
        ({"prices": {"input": "abc"}}, "prices.input: A valid number is required."),
        ({"prices": {"inptu": "1"}}, "prices.inptu: is not a usage key"),
        ({"prices": {}}, "prices: need at least one price"),
        (
            {"prices": {"total": "1", "input": "1"}},
            "prices.total: cannot be combined",
        ),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(project, members, change, fragment):
    client = token_client(members[Role.ADMIN])
    before = state()

    response = client.send("POST", base(project), {**NEW, **change})

    assert_error(response, 400, fragment)
    assert state() == before
    assert client.send("POST", base(project), NEW).status_code == 201


def test_a_duplicate_model_and_start_is_a_400(project, members):
    client = token_client(members[Role.ADMIN])
    client.send("POST", base(project), NEW)

    again = client.send("POST", base(project), {**NEW, "matchPattern": "acme"})

    assert_error(
        again, 400, "startDate: acme-llm already has a price from 2026-11-01T00:00"
    )
    assert ModelPrice.objects.count() == 1


def test_another_projects_price_is_a_404(project, other_project, members):
    foreign = ModelPrice.objects.create(
        project=other_project, model_name="x", match_pattern="^x$", prices={"input": 1}
    )
    client = token_client(members[Role.ADMIN])

    assert_error(client.get(f"{base(project)}{foreign.pk}/"), 404)
    assert_error(client.delete(f"{base(project)}{foreign.pk}/"), 404)
    assert client.get(base(project)).json() == {"data": []}
    assert ModelPrice.objects.filter(pk=foreign.pk).exists()


def test_the_schema_documents_the_model_prices_api(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    item = schema["paths"]["/api/v1/projects/{slug}/model-prices/{price_id}/"]
    assert set(item) >= {"get", "patch", "delete"}
    assert item["patch"]["operationId"] == "model_prices_update"
    created = schema["paths"]["/api/v1/projects/{slug}/model-prices/"]["post"]
    assert set(created["responses"]) == {"201", "400", "401", "403", "404"}


def test_the_schema_says_prices_are_usd_per_token_not_per_million(client):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"][
        "schemas"
    ]

    for name in ("ModelPrice", "ModelPriceInput"):
        prices = schemas[name]["properties"]["prices"]["description"]
        assert "USD per single unit: per token for TOKENS" in prices
        assert "not per 1M tokens" in prices
        assert "$2.50 / 1M tokens is 0.0000025" in prices
        unit = schemas[name]["properties"]["unit"]
        assert "the prices are USD per one of it" in str(unit)


def test_an_overlapping_alternation_saved_by_the_api_cannot_stall_a_lookup(
    client, project, members, caplog
):
    # The save-time check catches nested repetition, not (a|a)*: matching
    # must be bounded however the pattern got in.
    api = token_client(members[Role.ADMIN])
    response = api.send(
        "POST", base(project), {**NEW, "matchPattern": "(a|a)*$", "startDate": None}
    )
    assert response.status_code == 201
    price = ModelPrice.objects.get()
    client.force_login(members[Role.VIEWER])

    caplog.set_level("WARNING", logger="tracing.price_patterns")
    page = client.get(f"/p/{project.slug}/prices/", {"lookup": "a" * 40 + "!"})

    assert page.status_code == 200
    assert page.context["lookup"]["project_price"] is None
    assert f"model price {price.pk} of project {project.id}" in caplog.text
    assert "timed out on model 'aaaa" in caplog.text
