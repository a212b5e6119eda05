"""What happened in the registry, announced once the transaction commits.

Each function queues one Celery task with the object's id; the task sends
the notifications and webhooks (see ``prompts.notifications``). Nothing is
announced for a transaction that rolls back.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

REVIEW_REQUESTED = "review.requested"
REVIEW_DECIDED = "review.decided"
COMMENT_ADDED = "comment.added"
LABEL_MOVED = "label.moved"
VERSION_CREATED = "version.created"


_muted = ContextVar("events_muted", default=False)


@contextmanager
def muted():
    """Announce nothing inside: for loading data that nobody should be told
    about, such as the demo's history."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def _announce(kind, pk):
    if _muted.get():
        return

    from .. import tasks

    transaction.on_commit(lambda: tasks.announce.delay(kind, pk))


def review_requested(request):
    _announce(REVIEW_REQUESTED, request.pk)


def review_decided(review):
    _announce(REVIEW_DECIDED, review.pk)


def comment_added(comment):
    _announce(COMMENT_ADDED, comment.pk)


def label_moved(move):
    _announce(LABEL_MOVED, move.pk)


def version_created(version):
    _announce(VERSION_CREATED, str(version.pk))
