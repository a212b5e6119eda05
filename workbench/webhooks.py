"""Webhooks: signed JSON events POSTed to URLs a project registers.

Registration, the event payloads, the URL safety check and one delivery
attempt live here; the pages call these functions and the Celery task
``workbench.tasks.deliver_webhook`` runs :func:`delivery_attempt`.

A receiver checks ``X-Workbench-Signature: sha256=<hex>``, the HMAC-SHA256
of the raw request body keyed with the webhook's secret, and may use the
payload's ``id`` (the same for every delivery of one event) to ignore
repeats. ``X-Workbench-Delivery`` names the delivery, ``X-Workbench-Event``
the event.

URLs must reach a public address: loopback, private, link-local,
multicast, reserved and unspecified addresses are refused when a webhook is
registered and again when it is sent (DNS may have changed in between),
unless ``settings.WEBHOOKS_ALLOW_PRIVATE`` is on. The connection goes to the
address that was checked, so a second lookup cannot swap it for another.
"""

import datetime
import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
RESPONSE_BODY_LIMIT = 2000
# Enough bytes for 2,000 characters of any UTF-8 text.
RESPONSE_READ_LIMIT = RESPONSE_BODY_LIMIT * 4
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600
URL_MAX_LENGTH = Webhook._meta.get_field("url").max_length
ALLOWED_SCHEMES = ("http", "https")
USER_AGENT = "prompt-workbench-webhooks/1"
# Event ids are derived from what happened, so a repeated announcement of
# one event carries the same id and receivers can drop the repeat.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d2c7e-3b0a-4d55-9a51-8f5e2b7c4a10")

SIGNATURE_HEADER = "X-Workbench-Signature"
EVENT_HEADER = "X-Workbench-Event"
DELIVERY_HEADER = "X-Workbench-Delivery"


class WebhookInputError(Exception):
    """Bad input for a webhook; ``field`` names what is wrong and why."""

    status = 400

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnsafeURL(Exception):
    """A webhook URL the workbench will not send to; the message says why."""


# URL safety ---------------------------------------------------------------

# Checked in this order so the reason names the most telling property.
FORBIDDEN_KINDS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)


def address_refusal(address):
    """Why the workbench may not connect to ``address``, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attribute, kind in FORBIDDEN_KINDS:
        if getattr(ip, attribute):
            return f"{ip} is {kind}"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def resolve(host, port):
    """Every address ``host`` resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass(frozen=True)
class Target:
    """Where a URL points: the parts the request needs and the checked addresses."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: list


def url_parts(url):
    """``(scheme, host, port, path)`` of an http(s) URL, or raise UnsafeURL."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("is required")
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise UnsafeURL(f"must be at most {URL_MAX_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURL("must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeURL("has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("must not contain a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeURL("has an invalid port") from None
    scheme = parts.scheme.lower()
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port, path


def checked_target(url):
    """Resolve ``url`` and check every address it resolves to.

    Raises UnsafeURL for a URL the workbench must not call, and OSError
    (socket.gaierror) when the host does not resolve.
    """
    scheme, host, port, path = url_parts(url)
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeURL(f"host {host} has no address")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                raise UnsafeURL(
                    f"points at {host}, and {refusal}; webhooks may only reach "
                    "public addresses"
                )
    return Target(scheme, host, port, path, addresses)


def clean_url(url):
    """The URL stripped, if the workbench may send to it; WebhookInputError if not."""
    try:
        checked_target(url)
    except UnsafeURL as refusal:
        raise WebhookInputError("url", str(refusal)) from None
    except OSError:
        host = url_parts(url)[1]
        raise WebhookInputError("url", f"host {host} could not be resolved") from None
    return url.strip()


def clean_events(events):
    if isinstance(events, str) or not isinstance(events, list | tuple):
        raise WebhookInputError("events", "must be a list of event names")
    unknown = [event for event in events if event not in Webhook.Event.values]
    if unknown:
        raise WebhookInputError(
            "events",
            f"unknown event {unknown[0]!r}; choose from "
            + ", ".join(Webhook.Event.values),
        )
    if not events:
        raise WebhookInputError("events", "choose at least one event")
    return [event for event in Webhook.Event.values if event in events]


# Registration -------------------------------------------------------------


def webhook_create(*, project, url, events, actor):
    """Register a webhook with a fresh secret (readable as ``webhook.secret``)."""
    events = clean_events(events)
    url = clean_url(url)
    webhook = Webhook.objects.create(
        project=project,
        url=url,
        secret=secrets.token_urlsafe(32),
        events=events,
        created_by=actor,
    )
    logger.info(
        "Webhook %s to %s for %s added in %s by %s",
        webhook.pk,
        url,
        events,
        project.slug,
        actor,
    )
    return webhook


def webhook_set_active(*, webhook, active, actor):
    if webhook.active != active:
        webhook.active = active
        webhook.save(update_fields=["active"])
        logger.info(
            "Webhook %s switched %s by %s", webhook.pk, "on" if active else "off", actor
        )
    return webhook


def webhook_delete(*, webhook, actor):
    """Delete the webhook and its delivery records."""
    logger.info("Webhook %s to %s deleted by %s", webhook.pk, webhook.url, actor)
    webhook.delete()


# Events -------------------------------------------------------------------


def iso_utc(moment):
    return (
        moment.astimezone(datetime.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def event_payload(event, *, key, occurred_at, project, **fields):
    """The JSON body of one event; ``key`` identifies what happened."""
    return {
        "id": str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{event}:{key}")),
        "event": event,
        "occurred_at": iso_utc(occurred_at),
        "project": project.slug,
        **fields,
    }


def label_moved_payload(move):
    """The ``label.moved`` event for a LabelMove (prompt and project loaded)."""
    return event_payload(
        Webhook.Event.LABEL_MOVED.value,
        key=move.pk,
        occurred_at=move.moved_at,
        project=move.prompt.project,
        prompt=move.prompt.name,
        label=move.label,
        from_version=move.from_version,
        to_version=move.to_version,
        moved_by=move.moved_by_name,
    )


def version_created_payload(version):
    """The ``version.created`` event for a PromptVersion."""
    prompt = version.prompt
    return event_payload(
        Webhook.Event.VERSION_CREATED.value,
        key=version.pk,
        occurred_at=version.created_at,
        project=prompt.project,
        prompt=prompt.name,
        version=version.number,
        commit_message=version.commit_message,
        author=version.created_by_name,
        type=prompt.type,
    )


# Deliveries ---------------------------------------------------------------


def _queue(delivery):
    from . import tasks

    delivery_id = str(delivery.pk)
    transaction.on_commit(lambda: tasks.deliver_webhook.delay(delivery_id))


def webhook_deliveries_create(project_id, event, payload):
    """One delivery per active webhook of the project subscribed to ``event``.

    Each is sent by a Celery task queued when the transaction commits.
    Returns the deliveries.
    """
    # Events are a JSON list; SQLite cannot filter on containment.
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(project_id=project_id, active=True)
        if event in webhook.events
    ]
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                webhook=webhook, event=event, payload=payload
            )
            for webhook in webhooks
        ]
        for delivery in deliveries:
            _queue(delivery)
    if deliveries:
        logger.info(
            "Queued %s to %d webhook(s) of project %s",
            event,
            len(deliveries),
            project_id,
        )
    return deliveries


def delivery_redeliver(*, delivery, actor):
    """Send ``delivery``'s event again, as a new delivery of the same payload."""
    webhook = delivery.webhook
    if not webhook.active:
        raise WebhookInputError(
            "webhook", "is switched off; switch it on before redelivering"
        )
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            webhook=webhook, event=delivery.event, payload=delivery.payload
        )
        _queue(again)
    logger.info(
        "Delivery %s of %s redelivered as %s by %s",
        delivery.pk,
        delivery.event,
        again.pk,
        actor,
    )
    return again


def retry_countdown(attempts):
    """Seconds before the next attempt after ``attempts`` tries: exponential,
    with up to a quarter more at random so failed receivers are not hit in step."""
    delay = min(BACKOFF_BASE_SECONDS * 2**attempts, BACKOFF_CAP_SECONDS)
    return min(round(delay + random.uniform(0, delay / 4)), BACKOFF_CAP_SECONDS)


def signature(secret, body):
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def request_body(payload):
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Answer:
    """What one attempt got back: an HTTP status and body, or an error."""

    status: int | None = None
    body: str = ""
    error: str = ""
    retry: bool = False


def _connect_to_checked(addresses, address, timeout, source_address=None):
    # Replaces http.client's own lookup: connect only to the addresses that
    # passed the check, trying each in turn as create_connection would.
    _, port = address
    failure = OSError(f"no address to connect to for port {port}")
    for checked in addresses:
        try:
            return socket.create_connection((checked, port), timeout, source_address)
        except OSError as error:
            failure = error
    raise failure


def post(target, body, headers):
    """POST ``body`` to ``target``; return ``(status, first bytes of the body)``.

    Redirects are not followed. Raises OSError or http.client.HTTPException
    when the request does not get an answer.
    """
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host,
            target.port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(
            target.host, target.port, timeout=TIMEOUT_SECONDS
        )
    # TLS still checks the certificate against the URL's host name.
    connection._create_connection = functools.partial(
        _connect_to_checked, target.addresses
    )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, read_some(response)
    finally:
        connection.close()


def read_some(response):
    """Up to RESPONSE_READ_LIMIT bytes of the body, within TIMEOUT_SECONDS.

    The socket timeout bounds each read, not their sum: a receiver that
    trickles a byte at a time would otherwise hold the worker for hours.
    """
    deadline = time.monotonic() + TIMEOUT_SECONDS
    received = b""
    while len(received) < RESPONSE_READ_LIMIT and time.monotonic() < deadline:
        chunk = response.read1(RESPONSE_READ_LIMIT - len(received))
        if not chunk:
            break
        received += chunk
    return received


def send(delivery):
    """Make one signed POST of ``delivery``'s payload and say what came back."""
    webhook = delivery.webhook
    body = request_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        SIGNATURE_HEADER: signature(webhook.secret, body),
    }
    try:
        target = checked_target(webhook.url)
    except UnsafeURL as refusal:
        return Answer(error=f"Refused: the URL {refusal}.")
    except OSError as error:
        return Answer(error=f"Could not resolve the host: {error}", retry=True)
    try:
        status, raw = post(target, body, headers)
    except (OSError, http.client.HTTPException) as error:
        return Answer(error=f"{type(error).__name__}: {error}", retry=True)
    text = raw.decode("utf-8", errors="replace")[:RESPONSE_BODY_LIMIT]
    answer = Answer(status=status, body=text)
    if 200 <= status < 300:
        return answer
    answer.retry = status >= 500 or status == 429
    if 300 <= status < 400:
        answer.error = "Redirects are not followed; register the final URL."
    else:
        answer.error = f"The receiver answered {status}."
    return answer


def _claim(delivery):
    """Count this attempt unless another worker already took it."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        attempts=delivery.attempts,
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
    ).update(attempts=F("attempts") + 1, last_attempt_at=now)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    return bool(claimed)


def delivery_attempt(delivery_id):
    """Send a pending delivery once and record the answer.

    Returns the seconds to wait before trying again, or None when the
    delivery is settled: delivered, failed (a 4xx other than 429, a refused
    URL, a switched-off webhook, or the last of MAX_ATTEMPTS), gone, or
    already being sent by another worker.
    """
    Status = WebhookDelivery.Status
    delivery = (
        WebhookDelivery.objects.select_related("webhook")
        .filter(pk=delivery_id, status__in=[Status.PENDING, Status.RETRYING])
        .first()
    )
    if delivery is None:
        return None
    if not delivery.webhook.active:
        delivery.status = Status.FAILED
        delivery.error = "The webhook was switched off before this was sent."
        delivery.save(update_fields=["status", "error"])
        return None
    if not _claim(delivery):
        return None

    answer = send(delivery)
    delivery.response_status = answer.status
    delivery.response_body = answer.body
    delivery.error = answer.error
    retry_in = None
    if answer.status is not None and 200 <= answer.status < 300:
        delivery.status = Status.DELIVERED
    elif answer.retry and delivery.attempts < MAX_ATTEMPTS:
        delivery.status = Status.RETRYING
        retry_in = retry_countdown(delivery.attempts)
    else:
        delivery.status = Status.FAILED
    delivery.save(update_fields=["status", "response_status", "response_body", "error"])
    logger.info(
        "Delivery %s of %s, attempt %d: %s (%s)%s",
        delivery.pk,
        delivery.event,
        delivery.attempts,
        delivery.status,
        answer.status or answer.error,
        f"; retry in {retry_in} s" if retry_in else "",
    )
    return retry_in
