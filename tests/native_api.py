"""Helpers for the native API tests: clients that act as one persona.

Personas: ``anonymous`` (no credentials), ``outsider`` (an account in no
project), ``other_member`` (the admin of another project) and one member per
role of the project under test. Each signs in with a personal access token,
as a script would.
"""

import json

from django.test import Client

from workbench.models import PersonalAccessToken, Role

ANONYMOUS, OUTSIDER, OTHER_MEMBER = "anonymous", "outsider", "other_member"
PERSONAS = [ANONYMOUS, OUTSIDER, OTHER_MEMBER, *Role.values]


class TokenClient(Client):
    """A test client sending ``Authorization: Bearer <token>`` and JSON bodies."""

    def __init__(self, token=None, **kwargs):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        super().__init__(**headers, **kwargs)
        self.token = token

    def send(self, method, path, body=None):
        """``method`` on ``path`` with ``body`` as JSON (None sends no body)."""
        handler = getattr(self, method.lower())
        if body is None:
            return handler(path)
        return handler(path, data=json.dumps(body), content_type="application/json")


def token_client(user):
    _, token = PersonalAccessToken.generate(user=user, name="tests")
    return TokenClient(token)


def persona_client(persona, *, members, outsider, other_member):
    if persona == ANONYMOUS:
        return TokenClient()
    if persona == OUTSIDER:
        return token_client(outsider)
    if persona == OTHER_MEMBER:
        return token_client(other_member)
    return token_client(members[persona])


def expected_refusal(persona):
    """The status a persona gets from an endpoint it may not use."""
    if persona == ANONYMOUS:
        return 401
    if persona in (OUTSIDER, OTHER_MEMBER):
        return 404
    return 403


def assert_error(response, status, *fragments):
    """The answer is the API's error shape with ``status`` and these words."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"message", "error"}
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body
