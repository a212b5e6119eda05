"""API key authentication for the Langfuse-compatible public API.

Clients send HTTP Basic with the public key as the user name and the secret
key as the password. The key record is cached by public key so that the
prompt fetch, the hot path, authenticates without touching the database.
"""

import base64
import binascii
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, exceptions

from .models import ApiKey, hash_secret

logger = logging.getLogger(__name__)


class ApiKeyError(Exception):
    """The request carries no usable key; the message says why."""


@dataclass(frozen=True)
class ServicePrincipal:
    """A project's service account, acting through one API key."""

    project_id: str
    api_key_id: int
    public_key: str

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    username = "API"

    @property
    def project(self):
        from .models import Project

        return Project.objects.get(pk=self.project_id)

    def __str__(self):
        return f"API key {self.public_key}"


def _cache_key(public_key):
    return f"apikey:{public_key}"


def forget_api_key(public_key):
    """Drop a key from the cache after it was revoked or deleted."""
    cache.delete(_cache_key(public_key))


def _load_key_record(public_key):
    record = cache.get(_cache_key(public_key))
    if record is not None:
        return record
    api_key = (
        ApiKey.objects.filter(public_key=public_key, revoked_at__isnull=True)
        .values("id", "project_id", "secret_hash")
        .first()
    )
    record = (
        (api_key["id"], str(api_key["project_id"]), api_key["secret_hash"])
        if api_key
        else ()
    )
    cache.set(_cache_key(public_key), record, settings.API_KEY_CACHE_TIMEOUT)
    return record


def parse_basic_credentials(header):
    if not header:
        raise ApiKeyError(
            "No authorization header: use HTTP Basic auth with the public key "
            "as user name and the secret key as password."
        )
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise ApiKeyError(
            "Unsupported authorization scheme: use HTTP Basic auth with the "
            "public key as user name and the secret key as password."
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ApiKeyError("Malformed Basic credentials.") from error
    public_key, sep, secret = decoded.partition(":")
    if not sep or not public_key or not secret:
        raise ApiKeyError("Basic credentials must be 'public_key:secret_key'.")
    return public_key, secret


def authenticate_api_key(authorization_header):
    """Return the ServicePrincipal for a Basic header, or raise ApiKeyError."""
    public_key, secret = parse_basic_credentials(authorization_header)
    record = _load_key_record(public_key)
    if not record or record[2] != hash_secret(secret):
        logger.warning("Rejected API credentials for public key %s", public_key)
        raise ApiKeyError("Invalid credentials: unknown or revoked API key pair.")
    key_id, project_id, _ = record
    return ServicePrincipal(
        project_id=project_id, api_key_id=key_id, public_key=public_key
    )


def api_key_record_key(public_key):
    """The cache key of a key's record, for a hot path that reads it in the
    same round trip as its own cache entries (see principal_from_record)."""
    return _cache_key(public_key)


def principal_from_record(public_key, secret, record):
    """The principal when a cached key ``record`` admits ``secret``, else None.

    None also for a record that is missing or marks an unknown key: the
    caller then falls back to ``authenticate_api_key``.
    """
    if not record or record[2] != hash_secret(secret):
        return None
    key_id, project_id, _ = record
    return ServicePrincipal(
        project_id=project_id, api_key_id=key_id, public_key=public_key
    )


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication for the public API (Basic ``pk:sk``)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        try:
            principal = authenticate_api_key(header)
        except ApiKeyError as error:
            raise exceptions.AuthenticationFailed(str(error)) from error
        return principal, principal

    def authenticate_header(self, request):
        return 'Basic realm="api"'
