"""Review rules that change after a version was approved still hold."""

import pytest

from prompts import services
from prompts.errors import PromptForbidden
from prompts.services.reviews import review_decide, review_request
from workbench.auth import ServicePrincipal
from workbench.models import Role
from workbench.services import project_settings_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def principal(api_key_pair):
    api_key, _ = api_key_pair
    return ServicePrincipal(
        project_id=str(api_key.project_id),
        api_key_id=api_key.id,
        public_key=api_key.public_key,
    )


def tighten(project, admin, **changes):
    settings = {
        "name": project.name,
        "naming_rule": project.naming_rule,
        "protected_labels": project.protected_labels,
        "required_approvals": project.required_approvals,
        "author_approval_counts": project.author_approval_counts,
        **changes,
    }
    project_settings_update(project=project, actor=admin, **settings)


def test_asking_for_more_approvals_unapproves_versions_that_have_fewer(
    protected, make_version, members
):
    version = make_version(name="a", actor=members[Role.EDITOR])
    review_request(version=version, actor=members[Role.EDITOR])
    review_decide(version=version, actor=members[Role.APPROVER], decision="approve")

    tighten(protected, members[Role.ADMIN], required_approvals=2)

    version.refresh_from_db()
    assert version.review_status == "in_review"
    with pytest.raises(PromptForbidden) as refused:
        services.labels_add(
            version=version, labels=["production"], actor=members[Role.APPROVER]
        )
    assert "version 1 is in review" in refused.value.message


def test_the_authors_own_approval_stops_counting_when_four_eyes_returns(
    protected, make_version, members, principal
):
    tighten(protected, members[Role.ADMIN], author_approval_counts=True)
    author = members[Role.APPROVER]
    version = make_version(name="a", actor=author)
    review_request(version=version, actor=author)
    review_decide(version=version, actor=author, decision="approve")
    version.refresh_from_db()
    assert version.review_status == "approved"

    tighten(protected, members[Role.ADMIN], author_approval_counts=False)

    with pytest.raises(PromptForbidden):
        services.labels_add(version=version, labels=["production"], actor=principal)
    version.refresh_from_db()
    assert version.review_status == "in_review"
    assert not version.labels.filter(name="production").exists()
