"""Object grants: a role on one prompt (django-guardian) or on a folder."""

import logging

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

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


def prompt_grant_set(*, prompt, user, role, actor):
    """Grant ``role`` on ``prompt`` (replacing an earlier grant there)."""
    role = _clean_role(role)
    _require_member(prompt.project, user)
    with transaction.atomic():
        for codename in GRANT_PERMISSIONS.values():
            remove_perm(f"prompts.{codename}", user, prompt)
        assign_perm(f"prompts.{GRANT_PERMISSIONS[role]}", user, prompt)
    logger.info("%s granted %s %s on prompt %s", actor, user, role, prompt.name)


def prompt_grant_remove(*, prompt, user, actor):
    with transaction.atomic():
        for codename in GRANT_PERMISSIONS.values():
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
