"""Writes about projects: members and invitations, API keys, project settings.

Every service validates its whole input before it writes, runs in one
transaction, records ``actor`` as the user of the history rows it causes
(so the audit log names them even outside a web request), and raises
SettingsInputError naming the field and the reason for bad input.
"""

import logging
import re
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from guardian.models import UserObjectPermission

from prompts.errors import PromptInputError
from prompts.models import FolderGrant, Prompt
from prompts.services import clean_labels
from prompts.services.reviews import review_statuses_refresh

from . import auth
from .models import (
    ApiKey,
    Membership,
    NamingRule,
    PersonalAccessToken,
    Project,
    Role,
)

logger = logging.getLogger(__name__)

PROJECT_NAME_MAX_LENGTH = 200
API_KEY_NOTE_MAX_LENGTH = 200
MIN_APPROVALS = 1
MAX_APPROVALS = 10
SETTINGS_FIELDS = [
    "name",
    "naming_rule",
    "protected_labels",
    "required_approvals",
    "author_approval_counts",
    "feature_key",
]
# Characters Django's default user name validator accepts.
USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")
USERNAME_MAX_LENGTH = 150


class SettingsInputError(Exception):
    """Bad input for a settings change; ``field`` names what was wrong."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvitationNotSent(SettingsInputError):
    """The invitation email could not be sent; the membership stands."""


def _recorded_as(instance, actor):
    # simple-history reads the user from the request; services also run in
    # commands and tests, so the actor is named on the instance itself.
    if actor is not None and getattr(actor, "pk", None) is not None:
        instance._history_user = actor
    return instance


def _clean_role(role):
    if role not in Role.values:
        raise SettingsInputError(
            "role", f"must be one of {', '.join(Role.values)} (got {role!r})"
        )
    return Role(role)


# Members ------------------------------------------------------------------


def _user_by_name_or_email(identifier):
    identifier = (identifier or "").strip()
    if not identifier:
        raise SettingsInputError("user", "enter a user name or an email address")
    users = get_user_model().objects.filter(
        Q(username=identifier) | Q(email__iexact=identifier)
    )
    found = list(users[:2])
    if not found:
        raise SettingsInputError(
            "user",
            f"no account has the user name or email '{identifier}'; "
            "invite them by email instead",
        )
    if len(found) > 1:
        raise SettingsInputError(
            "user", f"several accounts use '{identifier}'; give the user name"
        )
    return found[0]


def _refuse_existing_member(project, user):
    existing = Membership.objects.filter(project=project, user=user).first()
    if existing is not None:
        raise SettingsInputError(
            "user",
            f"{user.get_username()} is already a member of {project.name} "
            f"(as {existing.role})",
        )


def member_add(*, project, identifier, role, actor):
    """Add the account with user name or email ``identifier`` as ``role``."""
    role = _clean_role(role)
    user = _user_by_name_or_email(identifier)
    with transaction.atomic():
        _refuse_existing_member(project, user)
        membership = _recorded_as(
            Membership(project=project, user=user, role=role), actor
        )
        membership.save()
    logger.info("%s added %s to %s as %s", actor, user, project.slug, role)
    return membership


def _clean_email(email):
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        reason = f"'{email}' is not an email address"
        raise SettingsInputError("email", reason) from error
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def username_for_email(email):
    """A free user name made from the part of ``email`` before the "@"."""
    users = get_user_model().objects
    base = USERNAME_UNSAFE.sub("", email.partition("@")[0]).lower() or "member"
    base = base[: USERNAME_MAX_LENGTH - 4]
    candidate, suffix = base, 1
    while users.filter(username__iexact=candidate).exists():
        suffix += 1
        candidate = f"{base}{suffix}"
    return candidate


def member_invite(*, project, email, role, actor):
    """Create an account for ``email``, add it as ``role`` and email a link.

    The account has no usable password until the person follows the link
    and sets one. Raises InvitationNotSent (after the membership committed)
    when the mail server refuses the message.
    """
    role = _clean_role(role)
    email = _clean_email(email)
    user_model = get_user_model()
    with transaction.atomic():
        existing = user_model.objects.filter(email__iexact=email).first()
        if existing is not None:
            raise SettingsInputError(
                "email",
                f"{email} already has an account ({existing.get_username()}); "
                "add them as a member instead",
            )
        user = user_model.objects.create_user(
            username=username_for_email(email), email=email, password=None
        )
        membership = _recorded_as(
            Membership(project=project, user=user, role=role), actor
        )
        membership.save()
    logger.info("%s invited %s to %s as %s", actor, email, project.slug, role)
    invitation_send(project=project, user=user, actor=actor)
    return membership


def set_password_url(user):
    """An absolute link to the password-setting page, valid for one use."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL.rstrip("/") + path


def invitation_send(*, project, user, actor):
    """Email ``user`` the link that sets their first password."""
    if user.has_usable_password():
        raise SettingsInputError(
            "user", f"{user.get_username()} has already set a password"
        )
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    inviter = actor.get_username() if actor is not None else "An admin"
    body = (
        f"{inviter} invited you to the project {project.name} on the prompt "
        f"workbench.\n\nYour user name is {user.get_username()}. Choose a "
        f"password here (the link works once, for {days} days):\n\n"
        f"{set_password_url(user)}\n"
    )
    try:
        send_mail(
            f"You are invited to {project.name} on the prompt workbench",
            body,
            None,
            [user.email],
        )
    except (smtplib.SMTPException, OSError) as error:
        logger.exception("Could not send the invitation to %s", user.email)
        raise InvitationNotSent(
            "email",
            f"{user.get_username()} is a member, but the invitation to "
            f"{user.email} could not be sent ({error}); send it again later",
        ) from error
    logger.info("%s sent an invitation to %s for %s", actor, user.email, project.slug)


def _refuse_losing_last_admin(membership, new_role=None):
    """Refuse a change that would leave the project without an admin.

    Locks the project's admin memberships, so two admins demoting each
    other at the same moment cannot both succeed.
    """
    if membership.role != Role.ADMIN or new_role == Role.ADMIN:
        return
    admins = list(
        Membership.objects.select_for_update()
        .filter(project_id=membership.project_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        field = "role" if new_role else "user"
        raise SettingsInputError(
            field,
            f"{membership.user.get_username()} is the last admin of "
            f"{membership.project.name}; make another member admin first",
        )


def member_role_set(*, membership, role, actor):
    """Give ``membership`` the project role ``role``."""
    role = _clean_role(role)
    with transaction.atomic():
        _refuse_losing_last_admin(membership, role)
        previous = membership.role
        membership.role = role
        _recorded_as(membership, actor).save(update_fields=["role"])
    logger.info(
        "%s changed %s in %s from %s to %s",
        actor,
        membership.user,
        membership.project.slug,
        previous,
        role,
    )
    return membership


def member_remove(*, membership, actor):
    """Remove a member and the grants they hold in the project.

    Grants only count for members; dropping them here keeps an old grant
    from coming back silently if the person is added again later.
    """
    project, user = membership.project, membership.user
    with transaction.atomic():
        _refuse_losing_last_admin(membership)
        for grant in FolderGrant.objects.filter(project=project, user=user):
            _recorded_as(grant, actor).delete()
        prompt_ids = [
            str(pk)
            for pk in Prompt.objects.filter(project=project).values_list(
                "pk", flat=True
            )
        ]
        UserObjectPermission.objects.filter(
            user=user,
            content_type=ContentType.objects.get_for_model(Prompt),
            object_pk__in=prompt_ids,
        ).delete()
        _recorded_as(membership, actor).delete()
    logger.info("%s removed %s from %s", actor, user, project.slug)


# API keys -----------------------------------------------------------------


def api_key_create(*, project, note, actor):
    """Create a key pair; returns ``(api_key, secret)``, the secret only now."""
    note = (note or "").strip()
    if len(note) > API_KEY_NOTE_MAX_LENGTH:
        raise SettingsInputError(
            "note",
            f"must be at most {API_KEY_NOTE_MAX_LENGTH} characters (got {len(note)})",
        )
    with transaction.atomic():
        api_key, secret = ApiKey.generate(project=project, note=note, created_by=actor)
    logger.info("%s created API key %s in %s", actor, api_key.public_key, project.slug)
    return api_key, secret


def api_key_revoke(*, api_key, actor):
    """Revoke a key; requests with it fail from the next one on."""
    if api_key.revoked_at is not None:
        raise SettingsInputError("api_key", f"{api_key.public_key} is already revoked")
    with transaction.atomic():
        api_key.revoked_at = timezone.now()
        _recorded_as(api_key, actor).save(update_fields=["revoked_at"])
        # Forget now so the next request misses the cache, and again on
        # commit in case a request re-cached the key before the row changed.
        auth.forget_api_key(api_key.public_key)
        public_key = api_key.public_key
        transaction.on_commit(lambda: auth.forget_api_key(public_key))
    logger.info("%s revoked API key %s", actor, api_key.public_key)
    return api_key


# Project settings ---------------------------------------------------------


def _clean_project_name(name):
    name = (name or "").strip()
    if not name:
        raise SettingsInputError("name", "must not be empty")
    if len(name) > PROJECT_NAME_MAX_LENGTH:
        raise SettingsInputError(
            "name",
            f"must be at most {PROJECT_NAME_MAX_LENGTH} characters (got {len(name)})",
        )
    return name


def _clean_required_approvals(value):
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise SettingsInputError(
            "required_approvals", f"must be a whole number (got {value!r})"
        ) from error
    if not MIN_APPROVALS <= number <= MAX_APPROVALS:
        raise SettingsInputError(
            "required_approvals",
            f"must be between {MIN_APPROVALS} and {MAX_APPROVALS} (got {number})",
        )
    return number


def _clean_protected_labels(labels):
    try:
        return clean_labels(list(labels), field="protected_labels")
    except PromptInputError as error:
        raise SettingsInputError(error.field, error.reason) from error


def _clean_feature_key(key):
    key = (key or "").strip()
    limit = Project._meta.get_field("feature_key").max_length
    if len(key) > limit:
        raise SettingsInputError(
            "feature_key", f"must be at most {limit} characters (got {len(key)})"
        )
    if ":" in key:
        # Tags name the feature as "<key>:<value>": a colon would be ambiguous.
        raise SettingsInputError("feature_key", "must not contain a colon")
    return key


def project_settings_update(
    *,
    project,
    name,
    naming_rule,
    protected_labels,
    required_approvals,
    author_approval_counts,
    actor,
    feature_key=None,
):
    """Change the project's settings.

    A new naming rule applies to prompts created from now on; existing
    prompts keep their names and still take new versions. ``feature_key``
    (None: unchanged) applies to roll-ups computed from now on; the caller
    rebuilds the old ones.
    """
    name = _clean_project_name(name)
    if feature_key is not None:
        feature_key = _clean_feature_key(feature_key)
    if naming_rule not in NamingRule.values:
        raise SettingsInputError(
            "naming_rule", f"is not a known rule (got {naming_rule!r})"
        )
    protected_labels = _clean_protected_labels(protected_labels)
    required_approvals = _clean_required_approvals(required_approvals)
    with transaction.atomic():
        project.name = name
        project.naming_rule = naming_rule
        project.protected_labels = protected_labels
        project.required_approvals = required_approvals
        project.author_approval_counts = bool(author_approval_counts)
        if feature_key is not None:
            project.feature_key = feature_key
        _recorded_as(project, actor).save(update_fields=SETTINGS_FIELDS)
        review_statuses_refresh(project=project)
    logger.info("%s changed the settings of %s", actor, project.slug)
    return project


# Access tokens -----------------------------------------------------


class TokenInputError(SettingsInputError):
    """Bad input for an access token; ``field`` names what is wrong."""


def access_token_create(*, user, name):
    """Create a token for ``user``; returns ``(record, token)``, the token
    only now (it is stored hashed)."""
    name = (name or "").strip()
    limit = PersonalAccessToken._meta.get_field("name").max_length
    if not name:
        raise TokenInputError("name", "must not be empty")
    if len(name) > limit:
        raise TokenInputError("name", f"must be at most {limit} characters")
    with transaction.atomic():
        record, token = PersonalAccessToken.generate(user=user, name=name)
    logger.info("%s created access token %s (%s)", user, record.prefix, name)
    return record, token


def access_token_revoke(*, record, actor):
    """Revoke a token; requests with it fail from the next one on."""
    if record.revoked_at is not None:
        raise TokenInputError("token", f"{record.name} is already revoked")
    record.revoked_at = timezone.now()
    record._history_user = actor
    record.save(update_fields=["revoked_at"])
    logger.info("%s revoked access token %s", actor, record.prefix)
    return record
