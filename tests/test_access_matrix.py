"""Every project page, opened by every kind of visitor.

The page tests of each feature check the changes their forms make; this one
checks the door: who gets in, who gets a 403 (may see the project but not
this) and who gets a 404 (may not know it exists). A page added to the
project's URLs without a row here fails ``test_every_project_page_is_listed``.
"""

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from prompts.services import version_create
from prompts.services.comments import comment_add
from prompts.services.grants import folder_grant_set, prompt_grant_set
from prompts.services.reviews import review_request
from tracing.models import BackgroundJob, JobKind, ModelPrice, Trace
from workbench.models import Role, Webhook

pytestmark = pytest.mark.django_db

VISITORS = ["outsider", "other_admin", *Role.values]

# url name -> (the weakest role that may open it, how to build its args)
PAGES = {
    "prompt-list": (Role.VIEWER, lambda s: []),
    "prompt-detail": (Role.VIEWER, lambda s: [s.prompt.name]),
    "prompt-version": (Role.VIEWER, lambda s: [s.prompt.name, 1]),
    "prompt-history": (Role.VIEWER, lambda s: [s.prompt.name]),
    "prompt-diff": (Role.VIEWER, lambda s: [s.prompt.name]),
    "prompt-edit": (Role.EDITOR, lambda s: [s.prompt.name]),
    "prompt-new": (Role.EDITOR, lambda s: []),
    "comment-form": (Role.REVIEWER, lambda s: [s.version.id]),
    "trace-list": (Role.VIEWER, lambda s: []),
    "trace-detail": (Role.VIEWER, lambda s: [s.trace.trace_id]),
    "session-list": (Role.VIEWER, lambda s: []),
    "session-detail": (Role.VIEWER, lambda s: [s.trace.session_id]),
    "user-list": (Role.VIEWER, lambda s: []),
    "user-detail": (Role.VIEWER, lambda s: [s.trace.user_id]),
    "report-spend": (Role.VIEWER, lambda s: []),
    "report-spend-csv": (Role.VIEWER, lambda s: []),
    "report-trends": (Role.VIEWER, lambda s: []),
    "report-trends-csv": (Role.VIEWER, lambda s: []),
    "report-unpriced": (Role.VIEWER, lambda s: []),
    "job-progress": (Role.VIEWER, lambda s: [s.job.pk]),
    "report-inflation": (Role.VIEWER, lambda s: []),
    "report-models": (Role.VIEWER, lambda s: []),
    "report-inflation-csv": (Role.VIEWER, lambda s: []),
    "report-models-csv": (Role.VIEWER, lambda s: []),
    "report-unpriced-csv": (Role.VIEWER, lambda s: []),
    "model-price-list": (Role.VIEWER, lambda s: []),
    "model-price-add": (Role.ADMIN, lambda s: []),
    "model-price-edit": (Role.ADMIN, lambda s: [s.model_price.pk]),
    "budget-list": (Role.VIEWER, lambda s: []),
    "audit-log": (Role.VIEWER, lambda s: []),
    "audit-csv": (Role.VIEWER, lambda s: []),
    "project-settings": (Role.ADMIN, lambda s: []),
    "project-members": (Role.ADMIN, lambda s: []),
    "project-grants": (Role.ADMIN, lambda s: []),
    "api-keys": (Role.ADMIN, lambda s: []),
    "webhook-list": (Role.ADMIN, lambda s: []),
    "webhook-deliveries": (Role.ADMIN, lambda s: [s.webhook.pk]),
    "rollup-status": (Role.ADMIN, lambda s: []),
}
# Old addresses kept for bookmarks: members are redirected to the named page
# (after the same access check, so outsiders still get a 404).
REDIRECTS = {"cost-overview": (Role.VIEWER, "report-spend")}
# Fragments a page loads with htmx; a plain GET is redirected to the page.
FRAGMENTS = {"comment-form"}
# Actions answer POST only; their role rules are tested with their forms.
POST_ONLY = {
    "prompt-preview",
    "comment-add",
    "comment-edit",
    "comment-delete",
    "comment-resolve",
    "review-request",
    "review-decide",
    "label-move",
    "label-rollback",
    "member-add",
    "member-invite",
    "member-invite-resend",
    "member-role",
    "member-remove",
    "grant-add",
    "grant-remove",
    "api-key-create",
    "api-key-revoke",
    "webhook-toggle",
    "webhook-delete",
    "webhook-redeliver",
    "model-price-delete",
    "budget-add",
    "budget-edit",
    "budget-delete",
}


class Scene:
    """One project with a prompt in review, a trace, a webhook and a price."""

    def __init__(self, project, members):
        self.project = project
        self.version = version_create(
            project=project,
            name="hr/screening",
            content="Ask about {{topic}}.\nKeep it short.",
            commit_message="first",
            actor=members[Role.EDITOR],
        )
        self.prompt = self.version.prompt
        review_request(version=self.version, actor=members[Role.EDITOR])
        comment_add(
            version=self.version, actor=members[Role.REVIEWER], body="Which topic?"
        )
        self.trace = Trace.objects.create(
            project=project,
            trace_id="trace-1",
            name="t",
            timestamp=timezone.now(),
            session_id="chat/1",
            user_id="team/ann",
        )
        self.webhook = Webhook.objects.create(
            project=project, url="https://hooks.test/x", secret="s", events=[]
        )
        self.job = BackgroundJob.objects.create(
            project=project, kind=JobKind.REBUILD_ROLLUPS, params={}
        )
        self.model_price = ModelPrice.objects.create(
            project=project,
            model_name="acme-llm",
            match_pattern="^acme-llm$",
            prices={"input": 0.000001},
        )


@pytest.fixture
def scene(project, members):
    return Scene(project, members)


@pytest.fixture
def visit(client, members, outsider, other_member):
    people = {"outsider": outsider, "other_admin": other_member, **members}

    def _visit(who):
        client.force_login(people[who])
        return client

    return _visit


def project_url_names():
    names = set()
    for pattern in get_resolver().url_patterns:
        if str(pattern.pattern) != "p/<slug:project_slug>/":
            continue
        names.update(p.name for p in pattern.url_patterns if p.name)
    return names


def expected_status(visitor, needed):
    if visitor in ("outsider", "other_admin"):
        return 404
    ranks = Role.values
    return 200 if ranks.index(visitor) >= ranks.index(needed) else 403


def test_every_project_page_is_listed():
    assert project_url_names() == set(PAGES) | POST_ONLY | set(REDIRECTS)


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("visitor", VISITORS)
def test_each_visitor_gets_the_right_answer(scene, visit, name, visitor):
    needed, args = PAGES[name]
    url = reverse(name, args=[scene.project.slug, *args(scene)])
    headers = {"HX-Request": "true"} if name in FRAGMENTS else {}

    response = visit(visitor).get(url, headers=headers)

    assert response.status_code == expected_status(visitor, needed), url


@pytest.mark.parametrize("name", sorted(PAGES))
def test_anonymous_visitors_are_sent_to_log_in(scene, client, name):
    _, args = PAGES[name]
    url = reverse(name, args=[scene.project.slug, *args(scene)])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("name", sorted(REDIRECTS))
@pytest.mark.parametrize("visitor", VISITORS)
def test_an_old_address_redirects_members_only(scene, visit, name, visitor):
    needed, target = REDIRECTS[name]
    slug = scene.project.slug

    response = visit(visitor).get(reverse(name, args=[slug]))

    expected = expected_status(visitor, needed)
    assert response.status_code == (302 if expected == 200 else expected)
    if response.status_code == 302:
        assert response["Location"] == reverse(target, args=[slug])


def test_an_unknown_project_is_404_even_for_a_superuser_elsewhere(visit, members):
    response = visit(Role.ADMIN).get(reverse("prompt-list", args=["nowhere"]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("grant", "name", "needed"),
    [
        ("folder", "prompt-edit", Role.EDITOR),
        ("prompt", "prompt-edit", Role.EDITOR),
        ("folder", "comment-form", Role.REVIEWER),
        ("prompt", "comment-form", Role.REVIEWER),
    ],
)
def test_a_grant_opens_the_pages_of_its_prompt_and_no_other(
    scene, visit, members, grant, name, needed
):
    viewer = members[Role.VIEWER]
    other = version_create(
        project=scene.project,
        name="sales/pitch",
        content="Pitch {{product}}.",
        actor=members[Role.EDITOR],
    )
    if grant == "folder":
        folder_grant_set(
            project=scene.project,
            user=viewer,
            prefix="hr/",
            role=needed,
            actor=members[Role.ADMIN],
        )
    else:
        prompt_grant_set(
            prompt=scene.prompt, user=viewer, role=needed, actor=members[Role.ADMIN]
        )
    slug = scene.project.slug
    granted = [scene.prompt.name] if name == "prompt-edit" else [scene.version.id]
    elsewhere = [other.prompt.name] if name == "prompt-edit" else [other.id]
    headers = {"HX-Request": "true"} if name in FRAGMENTS else {}
    client = visit(Role.VIEWER)

    inside = client.get(reverse(name, args=[slug, *granted]), headers=headers)
    outside = client.get(reverse(name, args=[slug, *elsewhere]), headers=headers)

    assert inside.status_code == 200
    assert outside.status_code == 403
