"""Doing the same thing twice: an approver who already approved is not offered
Approve again, and a save that arrives twice (a double click) makes one
version, not a duplicate and not a "someone else saved" conflict."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prompts import services
from prompts.models import PromptVersion
from prompts.services.reviews import review_decide, review_request
from workbench.models import Role

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
APPROVE_BUTTON = 'name="decision" value="approve"'


@pytest.fixture
def in_review(project, members):
    version = services.version_create(
        project=project, name="greeting", content="Hi", actor=members[Role.EDITOR]
    )
    review_request(version=version, actor=members[Role.EDITOR])
    return version


def version_page(version):
    return reverse("prompt-version", args=["acme", version.prompt.name, version.number])


def test_an_approver_who_has_not_decided_sees_the_approve_button(
    login_as, members, in_review
):
    html = login_as(members[Role.APPROVER]).get(version_page(in_review)).content

    assert APPROVE_BUTTON in html.decode()
    assert "You approved this version" not in html.decode()


def test_an_approver_who_approved_sees_that_instead_of_the_button(
    login_as, members, in_review
):
    client = login_as(members[Role.APPROVER])

    response = client.post(
        reverse("review-decide", args=["acme", in_review.pk]),
        {"decision": "approve"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "You approved this version." in html
    assert APPROVE_BUTTON not in html
    assert 'value="request_changes"' in html
    page = client.get(version_page(in_review)).content.decode()
    assert APPROVE_BUTTON not in page
    assert in_review.reviews.count() == 1


def test_the_button_comes_back_after_the_approver_requests_changes(
    login_as, members, in_review
):
    approver = members[Role.APPROVER]
    review_decide(version=in_review, actor=approver, decision="approve")
    review_decide(
        version=in_review, actor=approver, decision="request_changes", body="Hm"
    )

    html = login_as(approver).get(version_page(in_review)).content.decode()

    assert APPROVE_BUTTON in html
    assert "You approved this version" not in html


def test_another_approvers_approval_leaves_the_button(login_as, members, in_review):
    review_decide(version=in_review, actor=members[Role.ADMIN], decision="approve")

    html = login_as(members[Role.APPROVER]).get(version_page(in_review)).content

    assert APPROVE_BUTTON in html.decode()


def test_a_new_review_round_offers_approve_again(login_as, members, in_review):
    approver = members[Role.APPROVER]
    review_decide(version=in_review, actor=approver, decision="approve")
    review_request(version=in_review, actor=members[Role.EDITOR])

    html = login_as(approver).get(version_page(in_review)).content.decode()

    assert APPROVE_BUTTON in html


# Saving twice -------------------------------------------------------------------


def edit_url():
    return reverse("prompt-edit", args=["acme", "greeting"])


def save_post(**overrides):
    return {
        "content": "Hello there",
        "config_mode": "fields",
        "config-0-key": "temperature",
        "config-0-value": "0.2",
        "commit_message": "Friendlier",
        "base_version": "1",
        **overrides,
    }


@pytest.fixture
def greeting(project, members):
    return services.version_create(
        project=project, name="greeting", content="Hi", actor=members[Role.EDITOR]
    )


def numbers():
    return list(
        PromptVersion.objects.order_by("number").values_list("number", flat=True)
    )


def test_the_same_save_arriving_twice_makes_one_version(login_as, members, greeting):
    client = login_as(members[Role.EDITOR])

    first = client.post(edit_url(), save_post())
    second = client.post(edit_url(), save_post(), follow=True)

    assert first.status_code == 302
    assert second.redirect_chain[-1][0] == first.url
    assert numbers() == [1, 2]
    assert "Saved version 2 of greeting." in second.content.decode()
    assert "while you were editing" not in second.content.decode()


@pytest.mark.parametrize(
    "change",
    [
        {"content": "Hello there!"},
        {"config-0-value": "0.3"},
    ],
)
def test_a_different_save_on_the_old_base_is_still_a_conflict(
    login_as, members, greeting, change
):
    client = login_as(members[Role.EDITOR])
    client.post(edit_url(), save_post())

    response = client.post(edit_url(), save_post(**change))

    assert response.status_code == 409
    assert numbers() == [1, 2]


def test_someone_elses_identical_save_is_a_conflict(login_as, members, greeting):
    login_as(members[Role.EDITOR]).post(edit_url(), save_post())

    response = login_as(members[Role.ADMIN]).post(edit_url(), save_post())

    assert response.status_code == 409
    assert numbers() == [1, 2]


def test_the_same_save_a_minute_later_is_a_conflict(login_as, members, greeting):
    client = login_as(members[Role.EDITOR])
    client.post(edit_url(), save_post())
    PromptVersion.objects.filter(number=2).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )

    response = client.post(edit_url(), save_post())

    assert response.status_code == 409
    assert numbers() == [1, 2]


def test_a_base_version_that_is_no_number_is_refused(login_as, members, greeting):
    response = login_as(members[Role.EDITOR]).post(
        edit_url(), save_post(base_version="abc")
    )

    assert response.status_code == 400
    assert (
        "'abc' is not a version number"
        in response.context["form"].errors["base_version"]
    )
    assert numbers() == [1]


def test_the_edit_page_loads_the_script_that_stops_a_second_submit(
    login_as, members, greeting
):
    html = login_as(members[Role.EDITOR]).get(edit_url()).content.decode()

    # static/js/htmx-errors.js disables a posted form's buttons once it is sent
    # (tests/browser/test_htmx_errors.py clicks twice).
    htmx = html.index("js/htmx-2.0.11.min.js")
    assert html.index("js/htmx-errors.js") > htmx
