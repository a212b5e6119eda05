"""Email notifications for registry events.

Who hears of what: reviewers when review is requested of them; the author
and whoever asked for review when a decision is made; the prompt's approvers
and the version's author when a protected label moves.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from workbench.models import Role

from .models import LabelMove, PromptVersion, Review, ReviewRequest
from .selectors import project_members_with_role
from .services import events
from .services.reviews import requested_reviewers

logger = logging.getLogger(__name__)


def announce(kind, pk):
    handler = HANDLERS.get(kind)
    if handler is None:
        return
    handler(pk)


def version_url(version):
    path = reverse(
        "prompt-version",
        args=[version.prompt.project.slug, version.prompt.name, version.number],
    )
    return settings.SITE_URL.rstrip("/") + path


def _send(subject, body, users):
    recipients = sorted({user.email for user in users if user and user.email})
    if not recipients:
        return 0
    send_mail(subject, body, None, recipients)
    logger.info("Sent %r to %d recipient(s)", subject, len(recipients))
    return len(recipients)


def _review_requested(pk):
    request = (
        ReviewRequest.objects.select_related("version__prompt__project", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if request is None:
        return
    version = request.version
    subject = f"Review requested: {version.prompt.name} v{version.number}"
    body = (
        f"{request.requested_by} asks for your review of {version.prompt.name} "
        f"version {version.number}.\n\n{request.message}\n\n{version_url(version)}\n"
    )
    _send(subject, body, requested_reviewers(request))


def _review_decided(pk):
    review = (
        Review.objects.select_related(
            "version__prompt__project", "version__created_by", "request__requested_by"
        )
        .filter(pk=pk)
        .first()
    )
    if review is None:
        return
    version = review.version
    subject = (
        f"{review.get_decision_display()}: {version.prompt.name} v{version.number}"
    )
    body = (
        f"{review.reviewer_name}: {review.get_decision_display().lower()} on "
        f"{version.prompt.name} version {version.number}.\n\n{review.body}\n\n"
        f"{version_url(version)}\n"
    )
    _send(subject, body, [version.created_by, review.request.requested_by])


def _label_moved(pk):
    move = LabelMove.objects.select_related("prompt__project").filter(pk=pk).first()
    if move is None or move.label not in (move.prompt.project.protected_labels or []):
        return
    prompt = move.prompt
    subject = (
        f"{prompt.name}: {move.label} moved from v{move.from_version} "
        f"to v{move.to_version}"
    )
    version = PromptVersion.objects.filter(
        prompt=prompt, number=move.to_version
    ).first()
    body = f"{move.moved_by_name} moved {move.label} of {prompt.name}.\n"
    users = project_members_with_role(prompt, Role.APPROVER)
    if version is not None:
        version.prompt = prompt
        body += f"\n{version_url(version)}\n"
        users.append(version.created_by)
    _send(subject, body, users)


HANDLERS = {
    events.REVIEW_REQUESTED: _review_requested,
    events.REVIEW_DECIDED: _review_decided,
    events.LABEL_MOVED: _label_moved,
}
