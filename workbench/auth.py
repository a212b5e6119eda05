"""API key authentication for the Langfuse-compatible public API.

Clients send HTTP Basic with the public key as the user name and the secret
key as the password. The key record is cached by public key so that the
prompt fetch, the hot path, authenticates without touching the database.

The native API (``/api/v1/``) takes personal access tokens instead:
``Authorization: Bearer wbt_<prefix>_<secret>``, acting as the user.
"""

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey, PersonalAccessToken, hash_secret

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


# Personal access tokens (the native API) -----------------------------------

ACCESS_TOKEN_SCHEME = "bearer"
ACCESS_TOKEN_PARTS = 3
# last_used_at is a hint for people tidying their tokens, not a log: one
# write a minute per token keeps busy scripts from writing on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _access_token_prefix(token):
    """The lookup prefix of a ``wbt_<prefix>_<secret>`` token."""
    parts = token.split("_", ACCESS_TOKEN_PARTS - 1)
    if len(parts) != ACCESS_TOKEN_PARTS or parts[0] != "wbt" or not all(parts):
        raise exceptions.AuthenticationFailed(
            "Malformed access token: expected 'Authorization: Bearer wbt_...' "
            "with a token created at /api/v1/tokens/."
        )
    return parts[1]


def user_for_access_token(token):
    """The active user a personal access token acts for, or AuthenticationFailed.

    Unknown tokens and wrong secrets get the same answer, so a prefix
    reveals nothing; a revoked token is named as such only once its whole
    secret has matched.
    """
    prefix = _access_token_prefix(token)
    record = (
        PersonalAccessToken.objects.select_related("user").filter(prefix=prefix).first()
    )
    if record is None or not record.check_token(token):
        logger.warning("Rejected access token with prefix %s", prefix)
        raise exceptions.AuthenticationFailed("Invalid access token.")
    if record.revoked_at is not None:
        raise exceptions.AuthenticationFailed(
            f"This access token ({record.name}) was revoked; create a new one."
        )
    if not record.user.is_active:
        raise exceptions.AuthenticationFailed("This account is disabled.")
    _note_use(record)
    return record.user, record


def _note_use(record):
    now = timezone.now()
    if record.last_used_at and now - record.last_used_at < LAST_USED_RESOLUTION:
        return
    # A queryset update: no history row, and no race with a revocation
    # saving the same row.
    PersonalAccessToken.objects.filter(pk=record.pk).update(last_used_at=now)
    record.last_used_at = now


class AccessTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication for the native API: ``Authorization: Bearer wbt_...``.

    Requests without a Bearer header pass on to the next class (the browser
    session); ``request.auth`` is the PersonalAccessToken.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != ACCESS_TOKEN_SCHEME:
            return None
        return user_for_access_token(token.strip())

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
