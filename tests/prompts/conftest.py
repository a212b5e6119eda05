"""Helpers for the registry tests: prompt fixtures and raw-path requests."""

from urllib.parse import quote

import pytest

from prompts import services


@pytest.fixture
def make_version(project):
    """Create a version through the service, as an API key would."""

    def _make(name="greeting", content="Hello {{name}}", **kwargs):
        return services.version_create(
            project=project, name=name, content=content, **kwargs
        )

    return _make


def prompt_path(name, *, encode_slashes=True, suffix=""):
    """The request path for ``name`` as 5.x (%2F) or 2.x (raw '/') sends it."""
    safe = "" if encode_slashes else "/"
    return f"/api/public/v2/prompts/{quote(name, safe=safe)}{suffix}"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the on-commit hooks of what happens inside, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def approve(members):
    """Take a version through review: the editor asks, the approver approves."""
    from prompts.services.reviews import review_decide, review_request
    from workbench.models import Role

    def _approve(version):
        review_request(version=version, actor=members[Role.EDITOR])
        review_decide(version=version, actor=members[Role.APPROVER], decision="approve")
        version.refresh_from_db()
        return version

    return _approve
