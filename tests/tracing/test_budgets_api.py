"""The budgets native API: figures, roles, tenants, bad input, the schema."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tests.native_api import (
    PERSONAS,
    TokenClient,
    assert_error,
    expected_refusal,
    persona_client,
    token_client,
)
from tracing import budgets
from tracing.models import Budget, BudgetAlert, BudgetScope, Granularity, UsageBucket
from workbench.models import Role

pytestmark = pytest.mark.django_db

V1 = "/api/v1/projects"
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
# 360 of November's 720 hours have passed: the forecast doubles the spend.
NOW = NOVEMBER + timedelta(days=15)
VIEWERS = set(Role.values)
ADMINS = {Role.ADMIN}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(budgets, "timezone", SimpleNamespace(now=lambda: NOW))


@pytest.fixture
def budget(project):
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.DAY,
        bucket_start=NOVEMBER,
        calls=2,
        feature="search",
        cost=Decimal("6.0000005"),
    )
    budget = Budget.objects.create(
        project=project,
        scope=BudgetScope.FEATURE,
        scope_value="search",
        monthly_amount=Decimal("10.00"),
        thresholds=[50, 80],
    )
    BudgetAlert.objects.create(
        budget=budget, month=date(2026, 11, 1), threshold=50, spend=6, forecast=12
    )
    return budget


def budget_json(budget, **changes):
    budget.refresh_from_db()
    return {
        "id": budget.pk,
        "scope": "feature",
        "value": "search",
        "amount": "10.00",
        "thresholds": [50, 80],
        "month": "2026-11-01",
        "spend": "6.000001",
        "forecast": "12.000001",
        "percent": "60.0",
        "status": "forecast_over",
        "unpricedCalls": 0,
        "alertsThisMonth": [50],
        "createdAt": budget.created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": budget.updated_at.isoformat().replace("+00:00", "Z"),
        **changes,
    }


def state():
    return sorted(
        Budget.objects.values_list(
            "project__slug", "scope", "scope_value", "monthly_amount", "thresholds"
        )
    )


def client_for(who, members, outsider, other_member):
    return persona_client(
        who, members=members, outsider=outsider, other_member=other_member
    )


CASES = [
    ("GET", lambda b: f"{V1}/acme/budgets/", None, VIEWERS, 200),
    ("GET", lambda b: f"{V1}/acme/budgets/{b.pk}/", None, VIEWERS, 200),
    ("POST", lambda b: f"{V1}/acme/budgets/", {"amount": "5"}, ADMINS, 201),
    ("PATCH", lambda b: f"{V1}/acme/budgets/{b.pk}/", {"amount": 7}, ADMINS, 200),
    ("DELETE", lambda b: f"{V1}/acme/budgets/{b.pk}/", None, ADMINS, 204),
]


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize(
    "case", CASES, ids=["list", "retrieve", "create", "update", "delete"]
)
def test_each_endpoint_answers_each_persona_as_its_role_allows(
    budget, members, outsider, other_member, who, case
):
    method, path, body, allowed, status = case
    client = client_for(who, members, outsider, other_member)
    before = state()

    response = client.send(method, path(budget), body)

    if who in allowed:
        assert response.status_code == status, response.content
    else:
        assert_error(response, expected_refusal(who))
        assert state() == before


def test_the_list_carries_spend_forecast_and_status(budget, members):
    response = token_client(members[Role.VIEWER]).get(f"{V1}/acme/budgets/")

    assert response.status_code == 200
    assert response.json() == {"data": [budget_json(budget)]}


def test_one_budget_reads_the_same(budget, members):
    response = token_client(members[Role.VIEWER]).get(f"{V1}/acme/budgets/{budget.pk}/")

    assert response.json() == budget_json(budget)


def test_an_admin_creates_a_budget(project, members):
    admin = token_client(members[Role.ADMIN])

    response = admin.send(
        "POST",
        f"{V1}/acme/budgets/",
        {"scope": "user", "value": "u-1", "amount": 99.5, "thresholds": [90, 50, 90]},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    budget = Budget.objects.get()
    assert body["id"] == budget.pk
    assert (body["scope"], body["value"], body["amount"]) == ("user", "u-1", "99.50")
    assert body["thresholds"] == [50, 90]
    assert (body["spend"], body["forecast"], body["status"]) == (
        "0.000000",
        "0.000000",
        "ok",
    )
    assert budget.created_by == members[Role.ADMIN]


def test_a_budget_left_without_thresholds_gets_50_80_100(project, members):
    admin = token_client(members[Role.ADMIN])

    response = admin.send("POST", f"{V1}/acme/budgets/", {"amount": "40"})

    assert response.json()["thresholds"] == [50, 80, 100]
    assert response.json()["scope"] == "project"


def test_an_update_changes_only_the_fields_sent(budget, members):
    admin = token_client(members[Role.ADMIN])

    response = admin.send(
        "PATCH", f"{V1}/acme/budgets/{budget.pk}/", {"thresholds": [60]}
    )

    assert response.status_code == 200
    assert response.json() == budget_json(budget, thresholds=[60])


def test_an_admin_deletes_a_budget(budget, members):
    admin = token_client(members[Role.ADMIN])

    response = admin.delete(f"{V1}/acme/budgets/{budget.pk}/")

    assert response.status_code == 204
    assert not Budget.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "amount: is required"),
        ({"amount": "1.001"}, "amount: may have at most 2 decimal places"),
        ({"amount": 0}, "amount: must be more than 0"),
        ({"amount": [5]}, "amount: must be a number of US dollars"),
        ({"amount": 5, "scope": "team"}, "scope: must be one of project"),
        ({"amount": 5, "value": "search"}, "value: must be empty for a project"),
        ({"amount": 5, "scope": "feature"}, "value: is required"),
        ({"amount": 5, "scope": "user", "value": 7}, "value: must be text"),
        (
            {"amount": 5, "scope": "user", "value": "\x00"},
            "value: must not contain control characters (found U+0000)",
        ),
        ({"amount": 5, "thresholds": "50"}, "thresholds: must be a list of"),
        ({"amount": 5, "thresholds": [50.5]}, "thresholds: 50.5 is not a whole"),
        (
            {"amount": 5, "thresholds": []},
            "thresholds: are required: enter at least one",
        ),
        ({"amount": 5, "thresholds": [0]}, "thresholds: 0 is outside 1 to 1000"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(project, members, body, message):
    admin = token_client(members[Role.ADMIN])

    response = admin.send("POST", f"{V1}/acme/budgets/", body)

    error = assert_error(response, 400, message)
    assert error["error"] == "InvalidRequestError"
    assert not Budget.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(project, members):
    admin = token_client(members[Role.ADMIN])

    response = admin.send("POST", f"{V1}/acme/budgets/", [1, 2])

    assert_error(response, 400, "The body must be a JSON object.")


def test_a_second_budget_for_one_feature_is_refused(budget, members):
    admin = token_client(members[Role.ADMIN])

    response = admin.send(
        "POST",
        f"{V1}/acme/budgets/",
        {"scope": "feature", "value": "search", "amount": 3},
    )

    assert_error(
        response, 400, "value: 'search' is taken: that feature already has a budget"
    )
    assert Budget.objects.count() == 1


def test_a_bad_update_changes_nothing(budget, members):
    admin = token_client(members[Role.ADMIN])
    before = state()

    response = admin.send(
        "PATCH", f"{V1}/acme/budgets/{budget.pk}/", {"scope": "project"}
    )

    assert_error(response, 400, "value: must be empty for a project budget")
    assert state() == before


def test_another_projects_budget_is_404_by_id(budget, other_project, other_member):
    other = token_client(other_member)
    theirs = Budget.objects.create(project=other_project, monthly_amount=5)

    through_acme = [
        other.get(f"{V1}/acme/budgets/{budget.pk}/"),
        other.send("PATCH", f"{V1}/acme/budgets/{budget.pk}/", {"amount": 1}),
    ]
    mixed = other.get(f"{V1}/globex/budgets/{budget.pk}/")
    own = other.get(f"{V1}/globex/budgets/")

    assert [r.status_code for r in through_acme] == [404, 404]
    assert mixed.status_code == 404
    assert [row["id"] for row in own.json()["data"]] == [theirs.pk]


def test_a_session_write_needs_the_csrf_token(budget, members):
    client = TokenClient(enforce_csrf_checks=True)
    client.force_login(members[Role.ADMIN])

    response = client.send("PATCH", f"{V1}/acme/budgets/{budget.pk}/", {"amount": 1})

    assert_error(response, 403, "CSRF")


def test_the_schema_documents_the_budget_endpoints(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    collection = schema["paths"]["/api/v1/projects/{slug}/budgets/"]
    item = schema["paths"]["/api/v1/projects/{slug}/budgets/{budget_id}/"]
    assert collection["get"]["operationId"] == "budgets_list"
    assert collection["post"]["operationId"] == "budgets_create"
    assert set(collection["post"]["responses"]) == {"201", "400", "401", "403", "404"}
    assert set(item) >= {"get", "patch", "delete"}
    fields = schema["components"]["schemas"]["Budget"]["properties"]
    assert {"spend", "forecast", "status", "alertsThisMonth"} <= set(fields)
