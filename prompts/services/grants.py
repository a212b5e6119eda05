"""Object grants: a role on one prompt (django-guardian) or on a folder."""

import logging
from contextlib import contextmanager
from types import SimpleNamespace

from django.db import transaction
from guardian.shortcuts import assign_perm, get_user_perms, remove_perm
from simple_history.models import HistoricalRecords

from workbench.models import Membership, Role

from ..errors import PromptInputError
from ..models import FolderGrant
from ..selectors import GRANT_PERMISSIONS

logger = logging.getLogger(__name__)


def _clean_role(role):
    if role not in Role.values:
        raise PromptInputError(
            "role", f"must be one of {', '.join(Role.values)} (got {role!r})"
        )
    return Role(role)


def _require_member(project, user):
    if not Membership.objects.filter(project=project, user=user).exists():
        raise PromptInputError(
            "user", f"{user.get_username()} is not a member of {project.name}"
        )


@contextmanager
def _history_by(actor):
    """Record ``actor`` on the history rows of guardian's permission rows.

    guardian writes those rows itself, so there is no instance to name the
    actor on; inside a request the history middleware already names the
    user, and that is left alone.
    """
    context = HistoricalRecords.context
    outside_request = getattr(context, "request", None) is None
    if outside_request and actor is not None:
        context.request = SimpleNamespace(user=actor)
    try:
        yield
    finally:
        if outside_request:
            context.request = None


def prompt_grant_set(*, prompt, user, role, actor):
    """Grant ``role`` on ``prompt`` (replacing an earlier grant there)."""
    role = _clean_role(role)
    _require_member(prompt.project, user)
    wanted = GRANT_PERMISSIONS[role]
    held = set(get_user_perms(user, prompt))
    with transaction.atomic(), _history_by(actor):
        for codename in held & set(GRANT_PERMISSIONS.values()) - {wanted}:
            remove_perm(f"prompts.{codename}", user, prompt)
        if wanted not in held:
            assign_perm(f"prompts.{wanted}", user, prompt)
    logger.info("%s granted %s %s on prompt %s", actor, user, role, prompt.name)


def prompt_grant_remove(*, prompt, user, actor):
    held = set(get_user_perms(user, prompt)) & set(GRANT_PERMISSIONS.values())
    with transaction.atomic(), _history_by(actor):
        for codename in held:
            remove_perm(f"prompts.{codename}", user, prompt)
    logger.info("%s removed %s's grant on prompt %s", actor, user, prompt.name)


def folder_grant_set(*, project, user, prefix, role, actor):
    """Grant ``role`` on every prompt whose name starts with ``prefix``."""
    role = _clean_role(role)
    if not isinstance(prefix, str) or not prefix.strip():
        raise PromptInputError("prefix", "must not be empty")
    _require_member(project, user)
    grant, _ = FolderGrant.objects.update_or_create(
        project=project,
        user=user,
        prefix=prefix.strip(),
        defaults={"role": role, "granted_by": actor},
    )
    logger.info("%s granted %s %s on folder %s*", actor, user, role, grant.prefix)
    return grant


def folder_grant_remove(*, grant, actor):
    logger.info("%s removed %s's grant on folder %s*", actor, grant.user, grant.prefix)
    if getattr(actor, "pk", None) is not None:
        # The history row of the deletion names who removed it (audit log).
        grant._history_user = actor
    grant.delete()
