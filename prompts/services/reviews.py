"""Review of versions: requests, decisions and the status they add up to.

A version is a draft until someone asks for review. Under the open request,
each reviewer's latest decision counts: one "request changes" makes the
version ``changes_requested``; enough approvals from approvers make it
``approved`` (the project says how many, and whether the author's own
approval counts). A new request on the same version starts the count over.
"""

import logging

from django.db import transaction
from django.utils import timezone

from workbench.models import Role, role_at_least

from ..errors import PromptForbidden, PromptInputError
from ..models import Decision, PromptVersion, Review, ReviewRequest, ReviewStatus
from ..selectors import project_members_with_role, user_role_on
from . import events

logger = logging.getLogger(__name__)

BODY_MAX_LENGTH = 10_000


def _role_on(version, user):
    return user_role_on(user, version.prompt)


def clean_reviewers(version, reviewers):
    """The named reviewers, each of whom must be able to review the prompt."""
    cleaned = []
    for user in reviewers:
        if not role_at_least(_role_on(version, user), Role.REVIEWER):
            raise PromptInputError(
                "reviewers",
                f"{user.get_username()} may not review {version.prompt.name}",
            )
        if user not in cleaned:
            cleaned.append(user)
    return cleaned


def review_request(*, version, actor, reviewers=(), message=""):
    """Ask for review of ``version``; with no reviewers named, ask everyone
    who may review the prompt. Closes any earlier request on it."""
    if not (
        version.created_by_id == actor.pk
        or role_at_least(_role_on(version, actor), Role.EDITOR)
    ):
        raise PromptForbidden(
            "Only the version's author or an editor may request review."
        )
    reviewers = clean_reviewers(version, reviewers)
    with transaction.atomic():
        version = PromptVersion.objects.select_for_update().get(pk=version.pk)
        ReviewRequest.objects.filter(version=version, closed_at__isnull=True).update(
            closed_at=timezone.now()
        )
        request = ReviewRequest.objects.create(
            version=version, requested_by=actor, message=message.strip()
        )
        request.reviewers.set(reviewers)
        _set_status(version, ReviewStatus.IN_REVIEW)
        events.review_requested(request)
    logger.info(
        "Review of %s v%s requested by %s from %s",
        version.prompt.name,
        version.number,
        actor,
        [user.get_username() for user in reviewers] or "all reviewers",
    )
    return request


def open_request(version):
    return version.review_requests.filter(closed_at__isnull=True).first()


def review_decide(*, version, actor, decision, body=""):
    """Record ``actor``'s decision on ``version`` and update its status."""
    if decision not in Decision.values:
        raise PromptInputError(
            "decision", f"must be 'approve' or 'request_changes' (got {decision!r})"
        )
    body = (body or "").strip()
    if len(body) > BODY_MAX_LENGTH:
        raise PromptInputError("body", f"must be at most {BODY_MAX_LENGTH} characters")
    role = _role_on(version, actor)
    if not role_at_least(role, Role.REVIEWER):
        raise PromptForbidden("Reviewing needs the reviewer role on this prompt.")
    if decision == Decision.APPROVE and not role_at_least(role, Role.APPROVER):
        raise PromptForbidden("Approving needs the approver role on this prompt.")
    if decision == Decision.REQUEST_CHANGES and not body:
        raise PromptInputError("body", "say what should change")
    project = version.prompt.project
    if (
        decision == Decision.APPROVE
        and version.created_by_id == actor.pk
        and not project.author_approval_counts
    ):
        raise PromptForbidden(
            "Four eyes: the author of a version may not approve it in this project."
        )

    with transaction.atomic():
        version = (
            PromptVersion.objects.select_for_update()
            .select_related("prompt__project")
            .get(pk=version.pk)
        )
        request = open_request(version)
        if request is None:
            raise PromptInputError(
                "version", f"version {version.number} has not been sent for review"
            )
        review = Review.objects.create(
            request=request,
            version=version,
            reviewer=actor,
            reviewer_name=actor.get_username(),
            decision=decision,
            body=body,
        )
        _set_status(version, status_of(version, request))
        events.review_decided(review)
    logger.info(
        "%s %s %s v%s (now %s)",
        actor,
        decision,
        version.prompt.name,
        version.number,
        version.review_status,
    )
    return review


def counted_approvals(version, request):
    """The approvers whose standing approval counts towards ``version``."""
    latest = {}
    for review in request.reviews.select_related("reviewer").order_by("created_at"):
        latest[review.reviewer_id] = review
    project = version.prompt.project
    counted = []
    for review in latest.values():
        if review.decision != Decision.APPROVE or review.reviewer is None:
            continue
        if version.created_by_id == review.reviewer_id and not (
            project.author_approval_counts
        ):
            continue
        if role_at_least(_role_on(version, review.reviewer), Role.APPROVER):
            counted.append(review.reviewer)
    return counted, latest


def status_of(version, request):
    counted, latest = counted_approvals(version, request)
    if any(r.decision == Decision.REQUEST_CHANGES for r in latest.values()):
        return ReviewStatus.CHANGES_REQUESTED
    if len(counted) >= max(version.prompt.project.required_approvals, 1):
        return ReviewStatus.APPROVED
    return ReviewStatus.IN_REVIEW


def current_status(version):
    """The status ``version`` has under the project's rules as they are now.

    The stored ``review_status`` was right when the last decision came in;
    approvals required, four eyes and roles may have changed since.
    """
    request = open_request(version)
    if request is None:
        return ReviewStatus.DRAFT
    return status_of(version, request)


def review_statuses_refresh(*, project):
    """Re-count every version under review in ``project`` after its rules
    changed; returns how many versions changed status."""
    changed = 0
    reviewed = PromptVersion.objects.select_related("prompt__project").filter(
        prompt__project=project,
        review_requests__closed_at__isnull=True,
    )
    for version in reviewed:
        status = current_status(version)
        if status != version.review_status:
            _set_status(version, status)
            changed += 1
    if changed:
        logger.info("Review status of %d version(s) in %s re-counted", changed, project)
    return changed


def _set_status(version, status):
    if version.review_status != status:
        version.review_status = status
        version.save(update_fields=["review_status"])


def requested_reviewers(request):
    """Who a request asks: the named reviewers, or all who may review."""
    named = list(request.reviewers.all())
    if named:
        return named
    prompt = request.version.prompt
    return [
        user
        for user in project_members_with_role(prompt, Role.REVIEWER)
        if user.pk != request.requested_by_id
    ]
