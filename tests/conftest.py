"""Shared personas and clients: one project per tenant, one user per role."""

import base64
import ipaddress
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from workbench.celery import app as celery_app
from workbench.models import ApiKey, Membership, Project, Role

celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Tests talk to this machine only: a connection anywhere else fails.

    Webhook tests use public-looking URLs to exercise validation; this makes
    sure none of them can ever reach the address it names.
    """
    connect = socket.create_connection

    def guarded(address, *args, **kwargs):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise OSError(f"tests may not connect to {host}")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def project(db):
    # No protected labels: most tests are about the registry and the wire
    # protocol. Review tests protect labels with the ``protected`` fixture.
    return Project.objects.create(slug="acme", name="Acme", protected_labels=[])


@pytest.fixture
def protected(project):
    """``project`` with ``production`` protected, as new projects have it."""
    project.protected_labels = ["production"]
    project.save(update_fields=["protected_labels"])
    return project


@pytest.fixture
def other_project(db):
    return Project.objects.create(slug="globex", name="Globex")


def make_member(project, role, username=None):
    user = get_user_model().objects.create_user(
        username=username or f"{project.slug}-{role}", password="pw"
    )
    Membership.objects.create(user=user, project=project, role=role)
    return user


@pytest.fixture
def members(project):
    """One user per role in ``project``, keyed by role value."""
    return {role: make_member(project, role) for role in Role.values}


@pytest.fixture
def outsider(db):
    return get_user_model().objects.create_user(username="outsider", password="pw")


@pytest.fixture
def other_member(other_project):
    return make_member(other_project, Role.ADMIN, username="globex-admin")


class ApiClient(Client):
    """A test client that sends Basic ``pk:sk`` like the Langfuse SDKs."""

    def __init__(self, public_key, secret, **kwargs):
        token = base64.b64encode(f"{public_key}:{secret}".encode()).decode()
        super().__init__(HTTP_AUTHORIZATION=f"Basic {token}", **kwargs)
        self.public_key = public_key
        self.secret = secret


@pytest.fixture
def api_key_pair(project):
    api_key, secret = ApiKey.generate(project=project, note="tests")
    return api_key, secret


@pytest.fixture
def api(api_key_pair):
    api_key, secret = api_key_pair
    return ApiClient(api_key.public_key, secret)


@pytest.fixture
def other_api(other_project):
    api_key, secret = ApiKey.generate(project=other_project, note="tests")
    return ApiClient(api_key.public_key, secret)


@pytest.fixture
def login_as(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
