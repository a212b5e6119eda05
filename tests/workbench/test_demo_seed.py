"""The demo data that ``make run`` loads on every start."""

import base64
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from prompts.models import Label, LabelMove, Prompt, PromptVersion
from tracing import usage
from tracing.models import Budget, Observation
from workbench.models import ApiKey, Membership, Project, Role

pytestmark = pytest.mark.django_db


def seed():
    out = StringIO()
    call_command("seed_demo", "--port", "8140", stdout=out)
    return out.getvalue()


def row_counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Project,
            get_user_model(),
            Membership,
            ApiKey,
            Prompt,
            PromptVersion,
            Label,
            LabelMove,
        )
    }


def basic(public_key, secret):
    token = base64.b64encode(f"{public_key}:{secret}".encode()).decode()
    return Client(HTTP_AUTHORIZATION=f"Basic {token}")


def test_it_creates_the_demo_project_with_one_user_per_role():
    seed()

    project = Project.objects.get(slug="demo")
    assert project.name == "Demo project"
    assert project.naming_rule == ""
    assert project.protected_labels == ["production"]
    roles = dict(
        Membership.objects.filter(project=project).values_list("user__username", "role")
    )
    assert roles == {role: role for role in Role.values}
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    editor = get_user_model().objects.get(username="editor")
    assert not editor.is_staff
    assert editor.check_password("workbench")


def test_a_second_run_creates_nothing_new():
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "Created demo prompts" not in output


def test_it_takes_the_password_and_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("WORKBENCH_DEMO_PASSWORD", "correct horse")
    monkeypatch.setenv("WORKBENCH_DEMO_SECRET_KEY", "sk-lf-from-env")

    output = seed()

    assert (
        get_user_model().objects.get(username="viewer").check_password("correct horse")
    )
    assert "export LANGFUSE_SECRET_KEY=sk-lf-from-env" in output
    response = basic("pk-lf-demo", "sk-lf-from-env").get("/api/public/projects")
    assert response.status_code == 200
    assert response.json()["data"][0]["name"] == "Demo project"


def test_a_changed_secret_replaces_the_old_one(monkeypatch):
    seed()
    assert (
        basic("pk-lf-demo", "sk-lf-demo-workbench")
        .get("/api/public/projects")
        .status_code
        == 200
    )

    monkeypatch.setenv("WORKBENCH_DEMO_SECRET_KEY", "sk-lf-rotated")
    seed()

    assert ApiKey.objects.filter(public_key="pk-lf-demo").count() == 1
    old = basic("pk-lf-demo", "sk-lf-demo-workbench").get("/api/public/projects")
    assert old.status_code == 401
    new = basic("pk-lf-demo", "sk-lf-rotated").get("/api/public/projects")
    assert new.status_code == 200


def test_it_stores_only_a_hash_of_the_demo_secret():
    seed()

    api_key = ApiKey.objects.get(public_key="pk-lf-demo")
    assert api_key.project.slug == "demo"
    assert "sk-lf-demo-workbench" not in api_key.secret_hash
    assert api_key.check_secret("sk-lf-demo-workbench")


def test_it_prints_the_url_the_logins_and_the_sdk_settings():
    output = seed()

    assert "http://127.0.0.1:8140/" in output
    assert "viewer, reviewer, editor, approver, admin" in output
    assert "export LANGFUSE_HOST=http://127.0.0.1:8140\n" in output
    assert "export LANGFUSE_PUBLIC_KEY=pk-lf-demo\n" in output
    assert "export LANGFUSE_SECRET_KEY=sk-lf-demo-workbench\n" in output
    assert "server running: make demo-traffic PORT=8140\n" in output


def test_on_the_default_port_the_traffic_command_needs_no_port():
    out = StringIO()
    call_command("seed_demo", "--port", "8000", stdout=out)

    assert "server running: make demo-traffic\n" in out.getvalue()


def labels_of(name):
    prompt = Prompt.objects.get(project__slug="demo", name=name)
    return {label.name: label.version.number for label in prompt.labels.all()}


def test_the_prompts_carry_production_and_staging_on_different_versions():
    seed()

    assert labels_of("interview/question-generator") == {
        "latest": 3,
        "production": 2,
        "staging": 3,
    }
    assert labels_of("quiz/generator") == {"latest": 3, "production": 2, "staging": 3}
    assert labels_of("resume/scorer") == {"latest": 2, "production": 1, "staging": 2}
    assert labels_of("support/triage") == {"latest": 2, "production": 1, "staging": 2}


def test_the_label_history_shows_production_being_moved():
    seed()

    moves = LabelMove.objects.filter(
        prompt__name="interview/question-generator", label="production"
    ).order_by("moved_at", "id")
    assert [(move.from_version, move.to_version) for move in moves] == [
        (None, 1),
        (1, 2),
    ]
    assert moves.last().moved_by_name == "approver"


def test_the_interview_prompt_is_a_chat_with_variables_and_a_history_placeholder():
    seed()

    version = PromptVersion.objects.get(
        prompt__name="interview/question-generator", number=3
    )
    assert version.prompt.type == "chat"
    assert version.variables == ["seniority", "role", "focus_area"]
    assert {"type": "placeholder", "name": "history"} in version.content
    resume = PromptVersion.objects.get(prompt__name="resume/scorer", number=2)
    assert resume.config["model"] == "claude-3-5-sonnet"
    assert resume.config["temperature"] == 0


def test_every_demo_user_has_an_address_in_the_demo_domain():
    seed()

    emails = dict(get_user_model().objects.values_list("username", "email"))
    assert emails == {role: f"{role}@demo.example" for role in Role.values}


def test_a_second_run_gives_old_users_an_address_and_keeps_one_set_by_hand():
    seed()
    users = get_user_model().objects
    users.filter(username="viewer").update(email="")
    users.filter(username="editor").update(email="ed@team.example")

    seed()

    assert users.get(username="viewer").email == "viewer@demo.example"
    assert users.get(username="editor").email == "ed@team.example"


def test_every_version_is_written_by_someone_who_may_create_versions():
    seed()

    authors = {
        (version.prompt.name, version.number): version.created_by.username
        for version in PromptVersion.objects.select_related("prompt", "created_by")
    }
    assert set(authors.values()) == {"editor"}
    assert authors[("interview/question-generator", 2)] == "editor"
    assert authors[("quiz/generator", 2)] == "editor"


def test_loading_the_demo_notifies_nobody(
    db, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    from prompts import tasks

    announced = []
    monkeypatch.setattr(tasks.announce, "delay", lambda *args: announced.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())

    assert announced == []
    assert mailoutbox == []
    assert Prompt.objects.filter(project__slug="demo").count() == 4


def test_loading_the_demo_rolls_up_calls_the_reports_have_not_seen():
    seed()
    project = Project.objects.get(slug="demo")
    now = timezone.now()
    Observation.objects.create(
        project=project,
        trace_id="t1",
        observation_id="o1",
        type="GENERATION",
        start_time=now,
        model="gpt-4o-mini",
        usage_details={"input": 10, "output": 5},
        total_cost=Decimal("0.25"),
        price_source="public",
        prompt_name="quiz/generator",
    )

    output = seed()

    assert "Rolled up the demo's calls: 1 hour buckets" in output
    [row] = usage.spend_share(project, start=now - timedelta(days=1), end=now)
    assert (row.key, row.calls, row.cost) == ("quiz/generator", 1, Decimal("0.25"))


def test_the_demo_project_has_a_monthly_budget_its_traffic_shows_against():
    seed()

    budget = Budget.objects.get(project__slug="demo")
    assert (budget.scope, budget.scope_value) == ("project", "")
    assert budget.monthly_amount == Decimal("0.20")
    assert budget.thresholds == [50, 80, 100]
    assert budget.created_by.username == "admin"


def test_a_second_run_keeps_a_budget_changed_by_hand():
    seed()
    Budget.objects.filter(project__slug="demo").update(monthly_amount=Decimal("5"))

    seed()

    (budget,) = Budget.objects.filter(project__slug="demo")
    assert budget.monthly_amount == Decimal("5.00")
