"""Who is emailed about what, and which events reach the project's webhooks."""

import uuid

import pytest
from django.core import mail
from django.db import transaction

from prompts import notifications, services
from prompts.models import LabelMove
from prompts.services import events
from prompts.services.reviews import review_decide, review_request
from workbench.models import Role, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def emails(members):
    """Give every member an address: ``<username>@example.com``."""
    for user in members.values():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return {role: user.email for role, user in members.items()}


@pytest.fixture
def authored(make_version, members):
    """Version 1 of ``greeting``, written by the editor."""
    return make_version(actor=members[Role.EDITOR])


def sent():
    return [(message.subject, sorted(message.to)) for message in mail.outbox]


# Review requests ----------------------------------------------------------


def test_a_review_request_emails_the_named_reviewers(
    members, emails, authored, committed
):
    with committed():
        review_request(
            version=authored,
            actor=members[Role.EDITOR],
            reviewers=[members[Role.REVIEWER], members[Role.APPROVER]],
            message="Shorter, please check the tone.",
        )

    assert sent() == [
        (
            "Review requested: greeting v1",
            [emails[Role.APPROVER], emails[Role.REVIEWER]],
        )
    ]
    assert "Shorter, please check the tone." in mail.outbox[0].body
    assert "/p/acme/prompts/greeting/v/1/" in mail.outbox[0].body


def test_a_review_request_naming_no_one_emails_everyone_who_may_review(
    members, emails, authored, committed
):
    with committed():
        review_request(version=authored, actor=members[Role.EDITOR])

    # Not the viewer (may not review), not the editor (who asked).
    assert sent() == [
        (
            "Review requested: greeting v1",
            [emails[Role.ADMIN], emails[Role.APPROVER], emails[Role.REVIEWER]],
        )
    ]


# Decisions ----------------------------------------------------------------


def test_an_approval_emails_the_author_and_whoever_asked(
    members, emails, authored, committed
):
    review_request(version=authored, actor=members[Role.ADMIN])

    with committed():
        review_decide(
            version=authored, actor=members[Role.APPROVER], decision="approve"
        )

    assert sent() == [
        ("Approved: greeting v1", [emails[Role.ADMIN], emails[Role.EDITOR]])
    ]


def test_a_change_request_emails_the_author_once_when_they_asked(
    members, emails, authored, committed
):
    review_request(version=authored, actor=members[Role.EDITOR])

    with committed():
        review_decide(
            version=authored,
            actor=members[Role.REVIEWER],
            decision="request_changes",
            body="Say who the candidate is.",
        )

    assert sent() == [("Changes requested: greeting v1", [emails[Role.EDITOR]])]
    assert "Say who the candidate is." in mail.outbox[0].body


# Label moves --------------------------------------------------------------


def test_a_protected_label_move_emails_the_approvers_and_the_author(
    protected, members, emails, authored, approve, make_version, committed
):
    approve(authored)

    with committed():
        services.label_move(
            prompt=authored.prompt,
            label="production",
            version_number=1,
            actor=members[Role.APPROVER],
        )

    recipients = [emails[Role.ADMIN], emails[Role.APPROVER], emails[Role.EDITOR]]
    assert sent() == [("greeting: production set to v1", recipients)]
    assert "acme-approver moved production of greeting." in mail.outbox[0].body

    second = approve(make_version(content="Hi", actor=members[Role.EDITOR]))
    with committed():
        services.label_move(
            prompt=second.prompt,
            label="production",
            version_number=2,
            actor=members[Role.ADMIN],
        )

    assert sent()[1] == ("greeting: production moved from v1 to v2", recipients)


def test_an_unprotected_label_move_sends_no_email(
    protected, members, emails, authored, committed
):
    with committed():
        services.labels_add(
            version=authored, labels=["staging"], actor=members[Role.EDITOR]
        )

    assert mail.outbox == []


# Addresses and transactions -----------------------------------------------


def test_no_email_is_attempted_for_users_without_an_address(
    members, authored, committed, monkeypatch
):
    def refuse(*args, **kwargs):
        raise AssertionError("send_mail called with no one to send to")

    monkeypatch.setattr(notifications, "send_mail", refuse)

    with committed():
        review_request(version=authored, actor=members[Role.EDITOR])

    assert mail.outbox == []


def test_only_users_with_an_address_are_emailed(members, authored, committed):
    reviewer = members[Role.REVIEWER]
    reviewer.email = "reviewer@example.com"
    reviewer.save(update_fields=["email"])

    with committed():
        review_request(version=authored, actor=members[Role.EDITOR])

    assert sent() == [("Review requested: greeting v1", ["reviewer@example.com"])]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_when_the_transaction_rolls_back(
    project, members, emails, make_version, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    version = make_version(actor=members[Role.EDITOR])
    # Nothing listens on the discard port; nothing should try to reach it.
    Webhook.objects.create(
        project=project,
        url="http://127.0.0.1:9/hook",
        secret="s",
        events=["label.moved", "version.created"],
    )

    with pytest.raises(RuntimeError), transaction.atomic():
        review_request(version=version, actor=members[Role.EDITOR])
        services.labels_add(version=version, labels=["staging"])
        make_version(content="Second")
        raise RuntimeError("something later in the request failed")

    assert mail.outbox == []
    assert WebhookDelivery.objects.count() == 0
    version.refresh_from_db()
    assert version.review_status == "draft"

    review_request(version=version, actor=members[Role.EDITOR])

    assert [message.subject for message in mail.outbox] == [
        "Review requested: greeting v1"
    ]


# The webhook hook ---------------------------------------------------------


@pytest.fixture
def webhook(project):
    return Webhook.objects.create(
        project=project,
        url="https://93.184.215.14/hook",
        secret="s",
        events=["label.moved", "version.created"],
    )


def test_a_label_move_creates_a_webhook_delivery(protected, webhook, members, authored):
    services.labels_add(
        version=authored, labels=["staging"], actor=members[Role.EDITOR]
    )
    move = LabelMove.objects.get(label="staging")

    notifications.announce(events.LABEL_MOVED, move.pk)

    delivery = WebhookDelivery.objects.get()
    assert delivery.webhook == webhook
    assert delivery.event == "label.moved"
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert {key: delivery.payload[key] for key in delivery.payload if key != "id"} == {
        "event": "label.moved",
        "occurred_at": delivery.payload["occurred_at"],
        "project": "acme",
        "prompt": "greeting",
        "label": "staging",
        "from_version": None,
        "to_version": 1,
        "moved_by": "acme-editor",
    }
    assert mail.outbox == []


def test_a_new_version_creates_a_webhook_delivery(webhook, members, authored):
    notifications.announce(events.VERSION_CREATED, str(authored.pk))

    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "version.created"
    assert delivery.payload["prompt"] == "greeting"
    assert delivery.payload["version"] == 1
    assert delivery.payload["author"] == "acme-editor"
    assert delivery.payload["type"] == "text"


def test_the_same_event_announced_twice_carries_the_same_id(webhook, authored):
    notifications.announce(events.VERSION_CREATED, str(authored.pk))
    notifications.announce(events.VERSION_CREATED, str(authored.pk))

    first, second = WebhookDelivery.objects.all()
    assert first.pk != second.pk
    assert first.payload["id"] == second.payload["id"]


def test_a_move_of_latest_creates_no_delivery(webhook, authored):
    move = LabelMove.objects.get(label="latest")

    notifications.announce(events.LABEL_MOVED, move.pk)

    assert WebhookDelivery.objects.count() == 0


def test_events_about_objects_deleted_since_are_skipped_quietly(webhook, authored):
    notifications.announce(events.LABEL_MOVED, 10**9)
    notifications.announce(events.VERSION_CREATED, str(uuid.uuid4()))
    notifications.announce(events.REVIEW_REQUESTED, 10**9)
    notifications.announce(events.REVIEW_DECIDED, 10**9)
    notifications.announce(events.COMMENT_ADDED, 10**9)

    assert WebhookDelivery.objects.count() == 0
    assert mail.outbox == []
