"""What happened in the registry, announced once the transaction commits.

Each function queues one Celery task with the object's id; the task sends
the notifications and webhooks (see ``prompts.notifications``). Nothing is
announced for a transaction that rolls back.
"""

from django.db import transaction

REVIEW_REQUESTED = "review.requested"
REVIEW_DECIDED = "review.decided"
COMMENT_ADDED = "comment.added"
LABEL_MOVED = "label.moved"
VERSION_CREATED = "version.created"


def _announce(kind, pk):
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
