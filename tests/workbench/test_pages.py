"""The home page and the layout around every project page."""

import pytest
from django.urls import reverse

from tests.conftest import make_member
from workbench.models import Role

pytestmark = pytest.mark.django_db


def test_home_redirects_anonymous_users_to_login(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_lists_only_the_users_projects_with_their_role(
    login_as, members, project, other_project
):
    user = members[Role.EDITOR]
    make_member(other_project, Role.VIEWER, username="globex-viewer")

    response = login_as(user).get(reverse("home"))

    html = response.content.decode()
    assert [row["project"].slug for row in response.context["projects"]] == ["acme"]
    assert response.context["projects"][0]["role"] == "editor"
    assert reverse("prompt-list", args=["acme"]) in html
    assert reverse("report-spend", args=["acme"]) in html
    assert "Globex" not in html


def test_home_tells_a_user_without_projects_what_to_do(login_as, outsider):
    response = login_as(outsider).get(reverse("home"))

    assert "not a member of any project" in response.content.decode()


def test_project_pages_show_the_navigation(login_as, members, project):
    response = login_as(members[Role.VIEWER]).get(
        reverse("trace-list", args=[project.slug])
    )

    html = response.content.decode()
    assert '<a class="project-name" href="/" title="All your projects">Acme</a>' in html
    assert (
        f'<a href="{reverse("trace-list", args=["acme"])}" class="active" '
        'aria-current="page">Traces</a>' in html
    )
    assert reverse("prompt-list", args=["acme"]) in html
    assert reverse("report-spend", args=["acme"]) in html
    assert "acme-viewer" in html
    assert '<span class="role">Viewer</span>' in html
    assert f'action="{reverse("logout")}"' in html


def test_the_stylesheet_is_served(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert b".tree .node" in b"".join(response.streaming_content)
