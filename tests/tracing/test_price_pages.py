"""The model prices pages: reading, adding, editing, deleting, and the trace page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tracing.cost import load_project_prices, price_apply
from tracing.models import (
    BackgroundJob,
    JobKind,
    JobStatus,
    ModelPrice,
    Observation,
    Trace,
)
from workbench.models import Role

pytestmark = pytest.mark.django_db

VALID = {
    "model_name": "acme-llm",
    "match_pattern": "^acme-llm$",
    "start_date": "2026-11-01",
    "unit": "TOKENS",
    "price_input": "2.50",
    "price_output": "10",
    "price_input_cached_tokens": "1.25",
}


@pytest.fixture
def admin(client, members):
    client.force_login(members[Role.ADMIN])
    return client


def url(project, tail=""):
    return f"/p/{project.slug}/prices/{tail}"


def make_price(project, **values):
    fields = {
        "model_name": "acme-llm",
        "match_pattern": "^acme-llm$",
        "prices": {"input": 0.0000025, "output": 0.00001},
    }
    fields.update(values)
    return ModelPrice.objects.create(project=project, **fields)


# Reading -----------------------------------------------------------------------


def test_the_list_groups_prices_by_model_and_marks_the_one_in_force(
    client, project, members
):
    now = timezone.now()
    old = make_price(project, start_date=None, prices={"input": 0.000001})
    current = make_price(project, start_date=now - timedelta(days=1))
    later = make_price(project, start_date=now + timedelta(days=3))
    client.force_login(members[Role.VIEWER])

    response = client.get(url(project))

    assert response.status_code == 200
    rows = response.context["groups"][0]["rows"]
    assert [(row["price"], row["state"]) for row in rows] == [
        (later, "scheduled"),
        (current, "in force"),
        (old, "superseded"),
    ]
    assert [str(line) for line in rows[1]["lines"]] == [
        "input $2.50 / 1M tokens",
        "output $10.00 / 1M tokens",
    ]
    html = response.content.decode()
    assert "input $2.50 / 1M tokens" in html
    assert "are priced from the public price table" in html
    # A viewer reads, and is offered nothing to change.
    assert "/prices/new/" not in html
    assert f"/prices/{current.pk}/edit/" not in html


def test_an_admin_is_offered_add_edit_and_delete(admin, project):
    price = make_price(project)

    html = admin.get(url(project)).content.decode()

    assert f"/p/{project.slug}/prices/new/" in html
    assert f"/prices/{price.pk}/edit/" in html
    assert f"/prices/{price.pk}/delete/" in html


def test_looking_up_a_model_shows_its_public_price(client, project, members):
    client.force_login(members[Role.VIEWER])

    response = client.get(url(project), {"lookup": "gpt-4o-mini-2024-07-18"})

    lookup = response.context["lookup"]
    assert lookup["project_price"] is None
    assert [str(line) for line in lookup["public_lines"]] == [
        "input $0.15 / 1M tokens",
        "cache read $0.075 / 1M tokens",
        "output $0.60 / 1M tokens",
    ]


def test_looking_up_a_model_the_project_prices_names_that_price(admin, project):
    price = make_price(project)

    response = admin.get(url(project), {"lookup": "acme-llm"})

    assert response.context["lookup"]["project_price"] == price
    assert response.context["lookup"]["public"] is None
    assert "not in the public table" in response.content.decode()


def test_another_projects_price_is_not_found(client, project, other_project, members):
    foreign = make_price(other_project)
    client.force_login(members[Role.ADMIN])

    assert client.get(url(project, f"{foreign.pk}/edit/")).status_code == 404
    deleted = client.post(url(project, f"{foreign.pk}/delete/"))
    assert deleted.status_code == 404
    assert ModelPrice.objects.filter(pk=foreign.pk).exists()
    assert "acme-llm" not in client.get(url(project)).content.decode()


# Adding ------------------------------------------------------------------------


def test_the_add_form_is_prefilled_from_a_model_name(admin, project):
    response = admin.get(url(project, "new/"), {"model": "gpt-4o.2024+x"})

    form = response.context["form"]
    assert form["model_name"] == "gpt-4o.2024+x"
    assert form["match_pattern"] == r"^gpt\-4o\.2024\+x$"
    assert r'value="^gpt\-4o\.2024\+x$"' in response.content.decode()


def test_adding_a_price_stores_it_per_token_and_shows_the_repricing(
    admin, project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url(project, "new/"), VALID)

    price = ModelPrice.objects.get(project=project)
    assert price.prices == {
        "input": 0.0000025,
        "output": 0.00001,
        "input_cached_tokens": 0.00000125,
    }
    assert price.start_date == datetime(2026, 11, 1, tzinfo=UTC)
    job = BackgroundJob.objects.get(project=project, kind=JobKind.REPRICE)
    assert job.status == JobStatus.DONE
    assert job.params == {
        "patterns": ["^acme-llm$"],
        "since": "2026-11-01T00:00:00+00:00",
    }
    assert response.status_code == 302
    assert response["Location"] == f"{url(project)}?job={job.pk}"
    page = admin.get(response["Location"])
    assert page.context["job"] == job
    assert b"Re-price observations" in page.content
    assert b'value="100"' in page.content


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"model_name": ""}, "model_name", "is required"),
        ({"match_pattern": "(["}, "match_pattern", "is not a valid regular expression"),
        ({"match_pattern": "x" * 201}, "match_pattern", "longer than 200 characters"),
        ({"match_pattern": "^(a+)+$"}, "match_pattern", "repeats a group"),
        ({"start_date": "next tuesday"}, "start_date", "is not a date"),
        ({"unit": "BARRELS"}, "unit", "must be one of"),
        ({"price_output": "-1"}, "prices.output", "must not be negative"),
        ({"price_output": "ten"}, "prices.output", "is not a number"),
        ({"price_output": "NaN"}, "prices.output", "is not a number"),
        (
            {"price_input": "", "price_output": "", "price_input_cached_tokens": ""},
            "prices",
            "need at least one price",
        ),
        ({"price_total": "3"}, "prices.total", "cannot be combined"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(
    admin, project, change, field, reason
):
    response = admin.post(url(project, "new/"), {**VALID, **change})

    assert response.status_code == 400
    assert reason in response.context["errors"][field]
    assert reason in response.content.decode()
    assert not ModelPrice.objects.exists()
    assert not BackgroundJob.objects.exists()
    # The form keeps what was typed.
    assert response.context["form"]["model_name"] == {**VALID, **change}["model_name"]


def test_a_second_price_for_the_same_model_and_start_is_refused(admin, project):
    admin.post(url(project, "new/"), VALID)

    again = admin.post(url(project, "new/"), {**VALID, "match_pattern": "acme"})

    assert again.status_code == 400
    assert again.context["errors"]["start_date"] == (
        "acme-llm already has a price from 2026-11-01T00:00:00+00:00"
    )
    assert ModelPrice.objects.count() == 1
    later = admin.post(url(project, "new/"), {**VALID, "start_date": "2026-12-01"})
    assert later.status_code == 302
    assert ModelPrice.objects.count() == 2


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.APPROVER])
def test_only_admins_add_edit_or_delete(client, project, members, role):
    price = make_price(project)
    client.force_login(members[role])

    assert client.post(url(project, "new/"), VALID).status_code == 403
    edit = {**VALID, "price_input": "99"}
    assert client.post(url(project, f"{price.pk}/edit/"), edit).status_code == 403
    assert client.post(url(project, f"{price.pk}/delete/")).status_code == 403
    price.refresh_from_db()
    assert price.prices == {"input": 0.0000025, "output": 0.00001}
    assert not BackgroundJob.objects.exists()


# Editing and deleting ----------------------------------------------------------


def test_the_edit_form_shows_prices_per_million_tokens(admin, project):
    price = make_price(project, start_date=datetime(2026, 11, 1, 9, 30, tzinfo=UTC))

    form = admin.get(url(project, f"{price.pk}/edit/")).context["form"]

    assert form["prices"] == {"input": "2.5", "output": "10"}
    assert form["start_date"] == "2026-11-01T09:30"


def test_editing_a_price_saves_it_and_reprices(admin, project):
    price = make_price(project)

    response = admin.post(
        url(project, f"{price.pk}/edit/"),
        {**VALID, "match_pattern": "^acme-llm-2$", "price_output": "12"},
    )

    assert response.status_code == 302
    price.refresh_from_db()
    assert price.match_pattern == "^acme-llm-2$"
    assert price.prices["output"] == 0.000012
    job = BackgroundJob.objects.get(kind=JobKind.REPRICE)
    # The old price had no start date: every call may have used it.
    assert job.params == {"patterns": ["^acme-llm$", "^acme-llm-2$"], "since": None}


def test_an_invalid_edit_changes_nothing(admin, project):
    price = make_price(project)

    response = admin.post(
        url(project, f"{price.pk}/edit/"), {**VALID, "price_input": "-2"}
    )

    assert response.status_code == 400
    price.refresh_from_db()
    assert price.prices == {"input": 0.0000025, "output": 0.00001}
    assert price.start_date is None


def test_deleting_is_post_only_and_reprices(admin, project):
    price = make_price(project)

    assert admin.get(url(project, f"{price.pk}/delete/")).status_code == 405
    response = admin.post(url(project, f"{price.pk}/delete/"))

    assert response.status_code == 302
    assert not ModelPrice.objects.exists()
    job = BackgroundJob.objects.get(kind=JobKind.REPRICE)
    assert job.params == {"patterns": ["^acme-llm$"], "since": None}


def test_a_failed_repricing_is_shown_failed_on_the_list(admin, project):
    BackgroundJob.objects.create(
        project=project,
        kind=JobKind.REPRICE,
        status=JobStatus.FAILED,
        message="Failed: bucket table locked",
    )

    html = admin.get(url(project)).content.decode()

    assert "Failed: bucket table locked" in html


def test_the_settings_pages_link_to_the_prices(admin, project):
    html = admin.get(f"/p/{project.slug}/settings/").content.decode()

    assert f'href="/p/{project.slug}/prices/"' in html


# The price shown with each call on the trace page ------------------------------


def _generation(project, observation_id, model, usage, reported=None):
    row = Observation(
        project=project,
        observation_id=observation_id,
        trace_id="trace-1",
        type="GENERATION",
        start_time=datetime(2026, 11, 2, 10, tzinfo=UTC),
        model=model,
        provided_usage_details=usage,
        provided_cost_details=reported or {},
    )
    price_apply(row, load_project_prices(project.id))
    row.save()
    return row


def test_the_trace_page_shows_the_price_each_call_was_charged(admin, project):
    price = make_price(project)
    Trace.objects.create(
        project=project,
        trace_id="trace-1",
        timestamp=datetime(2026, 11, 2, 10, tzinfo=UTC),
    )
    usage = {"input": 1000, "output": 100}
    _generation(project, "a", "acme-llm", usage)
    _generation(project, "b", "gpt-4o-mini", usage)
    _generation(project, "c", "gpt-4o-mini", usage, reported={"total": "0.25"})
    _generation(project, "d", "mystery-model", usage)

    response = admin.get(f"/p/{project.slug}/traces/trace-1/")

    notes = {
        row["observation"].observation_id: row["price"]
        for row in response.context["rows"]
    }
    assert notes["a"]["source"] == "project"
    assert [str(line) for line in notes["a"]["lines"]] == [
        "input $2.50 / 1M tokens",
        "output $10.00 / 1M tokens",
    ]
    assert [str(line) for line in notes["b"]["lines"]][0] == "input $0.15 / 1M tokens"
    assert notes["b"]["model"] == "openai/gpt-4o-mini"
    assert (notes["c"]["source"], notes["c"]["lines"]) == ("reported", [])
    assert notes["d"]["source"] == "unknown"
    html = response.content.decode()
    assert f'href="/p/{project.slug}/prices/#price-{price.pk}"' in html
    assert "input $0.15 / 1M tokens" in html
    assert "Price: reported by the client" in html
    assert f"/p/{project.slug}/prices/new/?model=mystery-model" in html
    assert "unpriced" in html
    assert Decimal(response.context["total_cost"]) == Decimal("0.25371")


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?i)^(openai/)?gpt-4o(-\d{4}-\d{2}-\d{2})?$",
        r"^claude-(3-5-)?sonnet",
        r"^gemini-2\.5-pro(-preview)*$",
    ],
)
def test_usual_patterns_with_optional_groups_are_accepted(admin, project, pattern):
    response = admin.post(url(project, "new/"), {**VALID, "match_pattern": pattern})

    assert response.status_code == 302
    assert ModelPrice.objects.get().match_pattern == pattern


def test_prices_of_one_name_with_different_patterns_are_each_in_force(
    client, project, members
):
    now = timezone.now()
    d8 = make_price(project, model_name="deep", match_pattern="^d8$", start_date=None)
    d3 = make_price(
        project,
        model_name="deep",
        match_pattern="^d3$",
        start_date=now - timedelta(days=2),
    )
    d3_old = make_price(
        project,
        model_name="deep",
        match_pattern="^d3$",
        start_date=now - timedelta(days=9),
    )
    d8_next = make_price(
        project,
        model_name="deep",
        match_pattern="^d8$",
        start_date=now + timedelta(days=1),
    )
    client.force_login(members[Role.VIEWER])

    response = client.get(url(project))

    rows = response.context["groups"][0]["rows"]
    assert [(row["price"], row["state"]) for row in rows] == [
        (d3, "in force"),
        (d3_old, "superseded"),
        (d8_next, "scheduled"),
        (d8, "in force"),
    ]


def test_deleting_asks_for_confirmation_first(admin, project, members, client):
    price = make_price(project, match_pattern="^acme-(llm|xl)$")

    html = admin.get(url(project)).content.decode()

    form_at = html.index(f'action="/p/{project.slug}/prices/{price.pk}/delete/"')
    # The delete form sits inside a closed <details>: a click opens it, a
    # second click on "Delete price" deletes.
    opened = html.rindex('<details class="confirm">', 0, form_at)
    assert "<summary>Delete…</summary>" in html[opened:form_at]
    assert "</details>" not in html[opened:form_at]
    confirm = html[form_at : html.index("</form>", form_at)]
    assert (
        "Delete this price for acme-llm (<code>^acme-(llm|xl)$</code>)? Every call "
        "it matches is re-priced from the prices left." in confirm
    )
    assert '<button type="submit" class="danger">Delete price</button>' in confirm
    client.force_login(members[Role.VIEWER])
    assert "Delete price" not in client.get(url(project)).content.decode()


def test_a_lookup_longer_than_a_model_name_is_cut_to_255(client, project, members):
    client.force_login(members[Role.VIEWER])

    response = client.get(url(project), {"lookup": "m" * 5000})

    assert response.status_code == 200
    assert response.context["lookup"]["model"] == "m" * 255
