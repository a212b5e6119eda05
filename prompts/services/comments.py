"""Comments on versions: threads, line anchors, edits, resolution."""

import logging

from django.db import transaction
from django.utils import timezone

from workbench.models import Role, role_at_least

from ..errors import PromptForbidden, PromptInputError
from ..models import Comment
from ..selectors import user_role_on
from . import events

logger = logging.getLogger(__name__)

BODY_MAX_LENGTH = 10_000


def _role_on(version, user):
    return user_role_on(user, version.prompt)


def clean_body(body):
    if not isinstance(body, str) or not body.strip():
        raise PromptInputError("body", "must not be empty")
    body = body.strip()
    if len(body) > BODY_MAX_LENGTH:
        raise PromptInputError(
            "body", f"must be at most {BODY_MAX_LENGTH} characters (got {len(body)})"
        )
    return body


def version_lines(version, message):
    """The lines a comment may anchor to: of the text, or of one message."""
    content = version.content
    if isinstance(content, str):
        if message is not None:
            raise PromptInputError("message", "a text prompt has no messages")
        return content.split("\n")
    if message is None:
        raise PromptInputError("message", "a line of a chat prompt names its message")
    if not 0 <= message < len(content):
        raise PromptInputError(
            "message", f"must be between 0 and {len(content) - 1} (got {message})"
        )
    return (content[message].get("content") or "").split("\n")


def clean_anchor(version, message, line):
    if line is None:
        if message is not None:
            raise PromptInputError("line", "is required when a message is given")
        return None, None
    lines = version_lines(version, message)
    if not 1 <= line <= len(lines):
        raise PromptInputError(
            "line", f"must be between 1 and {len(lines)} (got {line})"
        )
    return message, line


def comment_add(*, version, actor, body, parent=None, message=None, line=None):
    """Comment on ``version``, as a reply to ``parent`` or on a line of it."""
    if not role_at_least(_role_on(version, actor), Role.REVIEWER):
        raise PromptForbidden("Commenting needs the reviewer role on this prompt.")
    body = clean_body(body)
    if parent is not None:
        if parent.version_id != version.id:
            raise PromptInputError("parent", "is a comment on another version")
        # A reply belongs to its thread's anchor, not a line of its own.
        message, line = parent.message, parent.line
    else:
        message, line = clean_anchor(version, message, line)
    with transaction.atomic():
        comment = Comment.objects.create(
            version=version,
            parent=parent,
            author=actor,
            author_name=actor.get_username(),
            body=body,
            message=message,
            line=line,
        )
        events.comment_added(comment)
    logger.info("%s commented on %s v%s", actor, version.prompt.name, version.number)
    return comment


def _own(comment, actor, action):
    if comment.deleted_at is not None:
        raise PromptInputError("comment", "has been deleted")
    if comment.author_id != actor.pk:
        raise PromptForbidden(f"Only the author of a comment may {action} it.")


def comment_edit(*, comment, actor, body):
    _own(comment, actor, "edit")
    comment.body = clean_body(body)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    return comment


def comment_delete(*, comment, actor):
    """Delete the comment's text; replies stay, under a "deleted" marker."""
    _own(comment, actor, "delete")
    comment.body = ""
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["body", "deleted_at"])
    return comment


def comment_resolve(*, comment, actor, resolved=True):
    """Mark a thread resolved (or open again): its author or any reviewer."""
    if comment.parent_id is not None:
        raise PromptInputError("comment", "only a thread's first comment resolves")
    if comment.author_id != actor.pk and not role_at_least(
        _role_on(comment.version, actor), Role.REVIEWER
    ):
        raise PromptForbidden("Resolving needs the reviewer role on this prompt.")
    comment.resolved_at = timezone.now() if resolved else None
    comment.resolved_by = actor if resolved else None
    comment.save(update_fields=["resolved_at", "resolved_by"])
    return comment
