"""Email notifications and webhooks for registry events.

Who hears of what: reviewers when review is requested of them; the author
and whoever asked for review when a decision is made; the prompt's approvers
and the version's author when a protected label moves. Users without an
email address are skipped. The project's webhooks hear of every label move
(except ``latest``, which moves with every new version) and every new
version.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from workbench import webhooks
from workbench.models import Role, Webhook

from .models import LATEST, LabelMove, PromptVersion, Review, ReviewRequest
from .selectors import project_members_with_role
from .services import events
from .services.reviews import requested_reviewers

logger = logging.getLogger(__name__)


def announce(kind, pk):
    """Run every handler for ``kind``; objects deleted since are skipped."""
    for handler in HANDLERS.get(kind, ()):
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
    if move.from_version is None:
        subject = f"{prompt.name}: {move.label} set to v{move.to_version}"
    else:
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


def _label_moved_webhooks(pk):
    move = LabelMove.objects.select_related("prompt__project").filter(pk=pk).first()
    if move is None or move.label == LATEST:
        return
    webhooks.webhook_deliveries_create(
        move.prompt.project_id,
        Webhook.Event.LABEL_MOVED,
        webhooks.label_moved_payload(move),
    )


def _version_created_webhooks(pk):
    version = (
        PromptVersion.objects.select_related("prompt__project").filter(pk=pk).first()
    )
    if version is None:
        return
    webhooks.webhook_deliveries_create(
        version.prompt.project_id,
        Webhook.Event.VERSION_CREATED,
        webhooks.version_created_payload(version),
    )


# Webhook deliveries are queued before any email goes out, so a mail server
# that is down does not keep the webhooks from hearing of the event.
HANDLERS = {
    events.REVIEW_REQUESTED: [_review_requested],
    events.REVIEW_DECIDED: [_review_decided],
    events.LABEL_MOVED: [_label_moved_webhooks, _label_moved],
    events.VERSION_CREATED: [_version_created_webhooks],
}
