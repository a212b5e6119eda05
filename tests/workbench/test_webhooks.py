"""Webhooks: signed deliveries to a real receiver, retries, URL safety, pages."""

import datetime
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from prompts import services
from prompts.services.reviews import review_decide, review_request
from workbench import tasks, webhooks
from workbench.models import Role, Webhook, WebhookDelivery
from workbench.webhooks import WebhookInputError

pytestmark = pytest.mark.django_db

LABEL_MOVED = "label.moved"
VERSION_CREATED = "version.created"
# An address on the public internet, given as a literal so no lookup is made.
PUBLIC_URL = "https://93.184.215.14/hooks/workbench"
REFUSED_URLS = [
    ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
    ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data", "is a link-local address"),
    ("http://[::1]:8080/hook", "::1 is a loopback address"),
    ("http://localhost:8000/hook", "is a loopback address"),
]


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers as told."""

    def __init__(self):
        self.requests = []
        self.answers = []
        self.default_answer = (200, b"thanks")
        self.trickle = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                status, body = (
                    receiver.answers.pop(0)
                    if receiver.answers
                    else receiver.default_answer
                )
                self.send_response(status)
                if receiver.trickle:
                    self.trickle(body)
                    return
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url("/elsewhere"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def trickle(self, body):
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass  # the sender stopped listening, as it should

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll keeps shutdown (each test's teardown) quick.
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.02,), daemon=True
        )
        self.thread.start()

    def url(self, path="/hooks/workbench"):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def admin(members):
    return members[Role.ADMIN]


@pytest.fixture
def hook(project, admin, receiver):
    """A webhook to the receiver for both events."""
    return webhooks.webhook_create(
        project=project,
        url=receiver.url("/hooks/workbench?team=ml"),
        events=[LABEL_MOVED, VERSION_CREATED],
        actor=admin,
    )


@pytest.fixture
def make_version(project):
    def _make(name="greeting", content="Hello {{name}}", **kwargs):
        return services.version_create(
            project=project, name=name, content=content, **kwargs
        )

    return _make


@pytest.fixture
def approve(members):
    """Take a version through review: the editor asks, the approver approves."""

    def _approve(version):
        review_request(version=version, actor=members[Role.EDITOR])
        review_decide(version=version, actor=members[Role.APPROVER], decision="approve")
        version.refresh_from_db()
        return version

    return _approve


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def retries(monkeypatch):
    """Record each retry the task queues (countdown and the delivery's state
    at that moment), then run it at once."""
    queued = []

    def apply_async(args, countdown):
        delivery = WebhookDelivery.objects.get(pk=args[0])
        queued.append((countdown, delivery.status, delivery.attempts))
        return tasks.deliver_webhook.apply(args=args)

    monkeypatch.setattr(tasks.deliver_webhook, "apply_async", apply_async)
    return queued


def expected_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def utc_stamp(moment):
    return (
        moment.astimezone(datetime.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def make_delivery(webhook, **fields):
    payload = fields.pop("payload", {"event": LABEL_MOVED, "prompt": "greeting"})
    return WebhookDelivery.objects.create(
        webhook=webhook, event=LABEL_MOVED, payload=payload, **fields
    )


# Sending ------------------------------------------------------------------


def test_a_label_move_reaches_the_receiver_signed_with_the_webhook_secret(
    receiver, hook, project, members, make_version, committed
):
    first = make_version(actor=members[Role.EDITOR])
    make_version(content="Hi {{name}}", actor=members[Role.EDITOR])
    services.labels_add(version=first, labels=["staging"])

    with committed():
        move = services.label_move(
            prompt=first.prompt,
            label="staging",
            version_number=2,
            actor=members[Role.APPROVER],
        )

    (request,) = receiver.requests
    delivery = WebhookDelivery.objects.get()
    body = request["body"]
    headers = request["headers"]
    assert request["path"] == "/hooks/workbench?team=ml"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Workbench-Event"] == LABEL_MOVED
    assert headers["X-Workbench-Delivery"] == str(delivery.pk)
    assert headers["X-Workbench-Signature"] == expected_signature(hook.secret, body)
    payload = json.loads(body)
    assert payload == {
        "id": payload["id"],
        "event": LABEL_MOVED,
        "occurred_at": utc_stamp(move.moved_at),
        "project": "acme",
        "prompt": "greeting",
        "label": "staging",
        "from_version": 1,
        "to_version": 2,
        "moved_by": "acme-approver",
    }
    assert uuid.UUID(payload["id"]).version == 5
    assert payload["occurred_at"].endswith("Z")
    assert delivery.event == LABEL_MOVED
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1
    assert delivery.response_status == 200
    assert delivery.response_body == "thanks"
    assert delivery.error == ""
    assert delivery.last_attempt_at is not None


def test_a_signature_made_with_another_secret_does_not_match(receiver, hook, project):
    webhooks.webhook_deliveries_create(project.pk, LABEL_MOVED, {"id": "x"})
    delivery = WebhookDelivery.objects.get()

    webhooks.delivery_attempt(delivery.pk)

    (request,) = receiver.requests
    assert request["body"] == b'{"id":"x"}'
    assert request["headers"]["X-Workbench-Signature"] != expected_signature(
        "another secret", request["body"]
    )
    assert request["headers"]["X-Workbench-Signature"] == expected_signature(
        hook.secret, b'{"id":"x"}'
    )


def test_a_new_version_reaches_the_receiver(
    receiver, project, admin, members, committed
):
    versions_only = webhooks.webhook_create(
        project=project, url=receiver.url(), events=[VERSION_CREATED], actor=admin
    )
    webhooks.webhook_create(
        project=project, url=receiver.url("/moves"), events=[LABEL_MOVED], actor=admin
    )

    with committed():
        version = services.version_create(
            project=project,
            name="quiz/generator",
            content=[{"role": "system", "content": "Ask {{count}} questions."}],
            commit_message="Tighter tone",
            actor=members[Role.EDITOR],
        )

    (request,) = receiver.requests
    body = request["body"]
    assert request["path"] == "/hooks/workbench"
    assert request["headers"]["X-Workbench-Event"] == VERSION_CREATED
    assert request["headers"]["X-Workbench-Signature"] == expected_signature(
        versions_only.secret, body
    )
    payload = json.loads(body)
    assert payload == {
        "id": payload["id"],
        "event": VERSION_CREATED,
        "occurred_at": utc_stamp(version.created_at),
        "project": "acme",
        "prompt": "quiz/generator",
        "version": 1,
        "commit_message": "Tighter tone",
        "author": "acme-editor",
        "type": "chat",
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.webhook == versions_only
    assert delivery.status == WebhookDelivery.Status.DELIVERED


def test_latest_moving_with_a_new_version_is_not_a_label_move_event(
    receiver, project, admin, make_version, committed
):
    webhooks.webhook_create(
        project=project, url=receiver.url(), events=[LABEL_MOVED], actor=admin
    )
    make_version()

    with committed():
        make_version(content="Second", labels=["staging"])

    assert [json.loads(r["body"])["label"] for r in receiver.requests] == ["staging"]
    assert [json.loads(r["body"])["to_version"] for r in receiver.requests] == [2]


def test_a_protected_label_move_is_announced_like_any_other(
    receiver, hook, protected, members, make_version, approve, committed
):
    version = approve(make_version(actor=members[Role.EDITOR]))

    with committed():
        services.label_move(
            prompt=version.prompt,
            label="production",
            version_number=1,
            actor=members[Role.APPROVER],
        )

    (request,) = receiver.requests
    payload = json.loads(request["body"])
    assert payload["label"] == "production"
    assert payload["from_version"] is None
    assert payload["to_version"] == 1


def test_switched_off_webhooks_and_other_projects_hear_nothing(
    receiver, hook, project, other_project, other_member, make_version, committed
):
    webhooks.webhook_set_active(webhook=hook, active=False, actor=None)
    webhooks.webhook_create(
        project=other_project,
        url=receiver.url("/globex"),
        events=[VERSION_CREATED],
        actor=other_member,
    )

    with committed():
        make_version()

    assert receiver.requests == []
    assert WebhookDelivery.objects.count() == 0


def test_a_500_is_retried_with_growing_waits_until_it_fails(
    receiver, hook, project, retries
):
    receiver.default_answer = (500, b"database is down")
    webhooks.webhook_deliveries_create(project.pk, LABEL_MOVED, {"id": "e1"})
    delivery = WebhookDelivery.objects.get()

    tasks.deliver_webhook.apply(args=[str(delivery.pk)])

    delivery.refresh_from_db()
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS == 6
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 6
    assert delivery.response_status == 500
    assert delivery.response_body == "database is down"
    assert delivery.error == "The receiver answered 500."
    assert [(status, attempts) for _, status, attempts in retries] == [
        ("retrying", attempt) for attempt in range(1, 6)
    ]
    for (countdown, _, attempts), base in zip(
        retries, [20, 40, 80, 160, 320], strict=True
    ):
        assert base <= countdown <= base * 1.25, (attempts, countdown)
    # Every attempt is the same delivery of the same event.
    assert {r["headers"]["X-Workbench-Delivery"] for r in receiver.requests} == {
        str(delivery.pk)
    }


def test_a_429_then_a_200_is_delivered_on_the_second_attempt(
    receiver, hook, project, retries
):
    receiver.answers = [(429, b"slow down")]
    webhooks.webhook_deliveries_create(project.pk, LABEL_MOVED, {"id": "e1"})
    delivery = WebhookDelivery.objects.get()

    tasks.deliver_webhook.apply(args=[str(delivery.pk)])

    delivery.refresh_from_db()
    assert len(receiver.requests) == 2
    assert len(retries) == 1
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 2
    assert delivery.response_status == 200
    assert delivery.error == ""


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_client_error_fails_at_once_without_retrying(
    receiver, hook, project, retries, status
):
    receiver.default_answer = (status, b"<h1>nope</h1>")
    webhooks.webhook_deliveries_create(project.pk, LABEL_MOVED, {"id": "e1"})
    delivery = WebhookDelivery.objects.get()

    tasks.deliver_webhook.apply(args=[str(delivery.pk)])

    delivery.refresh_from_db()
    assert retries == []
    assert len(receiver.requests) == 1
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 1
    assert delivery.response_status == status
    assert delivery.response_body == "<h1>nope</h1>"


def test_a_redirect_is_not_followed(receiver, hook, project, retries):
    receiver.default_answer = (302, b"")
    webhooks.webhook_deliveries_create(project.pk, LABEL_MOVED, {"id": "e1"})
    delivery = WebhookDelivery.objects.get()

    tasks.deliver_webhook.apply(args=[str(delivery.pk)])

    delivery.refresh_from_db()
    assert [r["path"] for r in receiver.requests] == ["/hooks/workbench?team=ml"]
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.response_status == 302
    assert "Redirects are not followed" in delivery.error


def test_only_the_first_2000_characters_of_the_answer_are_kept(receiver, hook, project):
    receiver.default_answer = (200, ("é" * 3000).encode())
    webhooks.webhook_deliveries_create(project.pk, LABEL_MOVED, {"id": "e1"})
    delivery = WebhookDelivery.objects.get()

    webhooks.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.response_body == "é" * 2000


def test_a_receiver_that_trickles_its_answer_is_cut_off(
    receiver, hook, project, monkeypatch
):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
    receiver.default_answer = (200, b"x" * 200)
    receiver.trickle = True
    delivery = make_delivery(hook)
    started = time.monotonic()

    webhooks.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert time.monotonic() - started < 3
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert 0 < len(delivery.response_body) < 200


def test_a_receiver_that_is_not_listening_is_retried(project, admin, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    webhook = webhooks.webhook_create(
        project=project,
        url=f"http://127.0.0.1:{closed_port}/hook",
        events=[LABEL_MOVED],
        actor=admin,
    )
    delivery = make_delivery(webhook)

    retry_in = webhooks.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert 20 <= retry_in <= 25
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert delivery.attempts == 1
    assert delivery.response_status is None
    assert delivery.error.startswith("ConnectionRefusedError")


def test_settled_deliveries_are_not_sent_again(receiver, hook):
    delivered = make_delivery(hook, status="delivered", attempts=1)
    failed = make_delivery(hook, status="failed", attempts=6)

    assert webhooks.delivery_attempt(delivered.pk) is None
    assert webhooks.delivery_attempt(failed.pk) is None
    assert webhooks.delivery_attempt(uuid.uuid4()) is None

    assert receiver.requests == []


def test_a_delivery_to_a_webhook_switched_off_meanwhile_is_not_sent(receiver, hook):
    delivery = make_delivery(hook)
    webhooks.webhook_set_active(webhook=hook, active=False, actor=None)

    assert webhooks.delivery_attempt(delivery.pk) is None

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 0
    assert "switched off" in delivery.error


def test_the_wait_doubles_per_attempt_and_stops_at_an_hour(monkeypatch):
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: low)
    assert [webhooks.retry_countdown(n) for n in range(1, 6)] == [20, 40, 80, 160, 320]
    assert webhooks.retry_countdown(12) == 3600

    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: high)
    assert [webhooks.retry_countdown(n) for n in range(1, 4)] == [25, 50, 100]
    assert webhooks.retry_countdown(9) == 3600


# URL safety ---------------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_private_addresses_are_refused_at_registration(project, admin, url, reason):
    with pytest.raises(WebhookInputError) as refused:
        webhooks.webhook_create(
            project=project, url=url, events=[LABEL_MOVED], actor=admin
        )

    assert refused.value.field == "url"
    assert reason in refused.value.reason
    assert str(refused.value).startswith("url: ")
    assert Webhook.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("https:///hook", "has no host"),
        ("https://user:pw@93.184.215.14/", "must not contain a user name"),
        ("https://93.184.215.14:99999/", "has an invalid port"),
        ("", "is required"),
        ("https://93.184.215.14/" + "a" * 500, "at most 500 characters"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(project, admin, url, reason):
    with pytest.raises(WebhookInputError) as refused:
        webhooks.webhook_create(
            project=project, url=url, events=[LABEL_MOVED], actor=admin
        )

    assert refused.value.field == "url"
    assert reason in refused.value.reason
    assert Webhook.objects.count() == 0


def test_a_public_address_is_accepted(project, admin):
    webhook = webhooks.webhook_create(
        project=project, url=f" {PUBLIC_URL} ", events=[LABEL_MOVED], actor=admin
    )

    assert webhook.url == PUBLIC_URL
    assert webhook.events == [LABEL_MOVED]
    assert webhook.active
    assert webhook.created_by == admin
    assert len(webhook.secret) >= 40


def test_every_address_a_host_resolves_to_is_checked(project, admin, monkeypatch):
    monkeypatch.setattr(
        webhooks, "resolve", lambda host, port: ["93.184.215.14", "10.1.2.3"]
    )

    with pytest.raises(WebhookInputError) as refused:
        webhooks.webhook_create(
            project=project,
            url="https://hooks.example.com/x",
            events=[LABEL_MOVED],
            actor=admin,
        )

    assert "10.1.2.3 is a private address" in refused.value.reason


def test_a_host_that_does_not_resolve_is_refused(project, admin, monkeypatch):
    def no_such_host(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(webhooks, "resolve", no_such_host)

    with pytest.raises(WebhookInputError) as refused:
        webhooks.webhook_create(
            project=project,
            url="https://nowhere.invalid/x",
            events=[LABEL_MOVED],
            actor=admin,
        )

    assert refused.value.field == "url"
    assert refused.value.reason == "host nowhere.invalid could not be resolved"


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([], "choose at least one event"),
        (["label.deleted"], "unknown event 'label.deleted'"),
        ("label.moved", "must be a list"),
    ],
)
def test_events_must_be_known(project, admin, events, reason):
    with pytest.raises(WebhookInputError) as refused:
        webhooks.webhook_create(
            project=project, url=PUBLIC_URL, events=events, actor=admin
        )

    assert refused.value.field == "events"
    assert reason in refused.value.reason


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_private_addresses_are_refused_at_send_time(
    receiver, hook, settings, url, reason
):
    # Registered while allowed (or by an older release); refused when sent.
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    Webhook.objects.filter(pk=hook.pk).update(url=url)
    delivery = make_delivery(hook)

    assert webhooks.delivery_attempt(delivery.pk) is None

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 1
    assert delivery.error.startswith("Refused: the URL points at")
    assert reason in delivery.error


def test_a_host_that_now_resolves_to_loopback_is_refused_at_send_time(
    receiver, project, admin, settings, monkeypatch
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    port = receiver.server.server_address[1]
    monkeypatch.setattr(webhooks, "resolve", lambda host, port: ["93.184.215.14"])
    webhook = webhooks.webhook_create(
        project=project,
        url=f"http://hooks.example.com:{port}/x",
        events=[LABEL_MOVED],
        actor=admin,
    )
    monkeypatch.setattr(webhooks, "resolve", lambda host, port: ["127.0.0.1"])
    delivery = make_delivery(webhook)

    webhooks.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "127.0.0.1 is a loopback address" in delivery.error


def test_the_connection_goes_to_the_checked_address(
    receiver, project, admin, monkeypatch
):
    # The host name is looked up once, checked, and that address is used:
    # the system resolver is never asked about hooks.example.com.
    port = receiver.server.server_address[1]
    monkeypatch.setattr(webhooks, "resolve", lambda host, port: ["127.0.0.1"])
    webhook = webhooks.webhook_create(
        project=project,
        url=f"http://hooks.example.com:{port}/pinned",
        events=[LABEL_MOVED],
        actor=admin,
    )
    delivery = make_delivery(webhook)

    webhooks.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    (request,) = receiver.requests
    assert request["path"] == "/pinned"
    assert request["headers"]["Host"] == f"hooks.example.com:{port}"


# Pages --------------------------------------------------------------------

REFUSED_VISITORS = [
    ("outsider", 404),
    ("other_admin", 404),
    (Role.VIEWER, 403),
    (Role.REVIEWER, 403),
    (Role.EDITOR, 403),
    (Role.APPROVER, 403),
]


@pytest.fixture
def visit(client, members, outsider, other_member):
    """A client logged in as ``who`` (a role, "outsider", "other_admin")."""

    def _visit(who):
        users = {"outsider": outsider, "other_admin": other_member, **members}
        client.force_login(users[who])
        return client

    return _visit


@pytest.fixture
def public_hook(project, admin):
    return webhooks.webhook_create(
        project=project, url=PUBLIC_URL, events=[LABEL_MOVED], actor=admin
    )


def list_url(project):
    return reverse("webhook-list", args=[project.slug])


def deliveries_url(webhook):
    return reverse("webhook-deliveries", args=[webhook.project.slug, webhook.pk])


def page_urls(webhook, delivery):
    slug = webhook.project.slug
    return {
        "list": list_url(webhook.project),
        "toggle": reverse("webhook-toggle", args=[slug, webhook.pk]),
        "delete": reverse("webhook-delete", args=[slug, webhook.pk]),
        "deliveries": deliveries_url(webhook),
        "redeliver": reverse("webhook-redeliver", args=[slug, webhook.pk, delivery.pk]),
    }


def snapshot():
    return (
        list(Webhook.objects.order_by("pk").values()),
        list(WebhookDelivery.objects.order_by("pk").values()),
    )


@pytest.mark.parametrize(
    "page", ["list", "toggle", "delete", "deliveries", "redeliver"]
)
def test_anonymous_visitors_are_sent_to_log_in(client, public_hook, page):
    urls = page_urls(public_hook, make_delivery(public_hook))
    before = snapshot()

    for method in (client.get, client.post):
        response = method(urls[page], {"url": PUBLIC_URL, "events": [LABEL_MOVED]})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    assert snapshot() == before


@pytest.mark.parametrize(("who", "status"), REFUSED_VISITORS)
@pytest.mark.parametrize(
    "page", ["list", "toggle", "delete", "deliveries", "redeliver"]
)
def test_only_project_admins_reach_the_pages(visit, public_hook, page, who, status):
    urls = page_urls(public_hook, make_delivery(public_hook))
    before = snapshot()
    client = visit(who)

    response = client.post(
        urls[page], {"url": PUBLIC_URL, "events": [LABEL_MOVED], "active": "0"}
    )

    assert response.status_code == status
    assert snapshot() == before
    if page in ("list", "deliveries"):
        assert client.get(urls[page]).status_code == status


def test_a_webhook_of_another_project_is_not_found(
    visit, project, other_project, other_member
):
    theirs = webhooks.webhook_create(
        project=other_project, url=PUBLIC_URL, events=[LABEL_MOVED], actor=other_member
    )
    delivery = make_delivery(theirs)
    client = visit(Role.ADMIN)
    before = snapshot()

    for name, args in [
        ("webhook-toggle", [theirs.pk]),
        ("webhook-delete", [theirs.pk]),
        ("webhook-deliveries", [theirs.pk]),
        ("webhook-redeliver", [theirs.pk, delivery.pk]),
    ]:
        response = client.post(reverse(name, args=[project.slug, *args]))
        assert response.status_code == 404, name

    assert snapshot() == before


def test_the_list_shows_the_projects_webhooks(visit, project, public_hook):
    response = visit(Role.ADMIN).get(list_url(project))

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["webhooks"] == [public_hook]
    assert f"<code>{PUBLIC_URL}</code>" in html
    assert deliveries_url(public_hook) in html
    assert public_hook.secret not in html


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(visit, project, admin):
    client = visit(Role.ADMIN)

    response = client.post(
        list_url(project), {"url": PUBLIC_URL, "events": [VERSION_CREATED]}
    )

    webhook = Webhook.objects.get()
    assert response.status_code == 302
    assert response["Location"] == list_url(project)
    assert webhook.project == project
    assert webhook.url == PUBLIC_URL
    assert webhook.events == [VERSION_CREATED]
    assert webhook.created_by == admin
    shown = client.get(list_url(project)).content.decode()
    assert f"<code>{webhook.secret}</code>" in shown
    assert "X-Workbench-Signature: sha256=&lt;hex&gt;" in shown
    assert "hmac.compare_digest" in shown
    assert webhook.secret not in client.get(list_url(project)).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"url": "http://127.0.0.1:8000/hook", "events": [LABEL_MOVED]},
            "url: points at 127.0.0.1, and 127.0.0.1 is a loopback address",
        ),
        ({"url": "ftp://example.com/", "events": [LABEL_MOVED]}, "url: must start"),
        ({"url": PUBLIC_URL}, "events: choose at least one event"),
    ],
)
def test_a_bad_webhook_is_refused_with_the_reason(visit, project, data, message):
    response = visit(Role.ADMIN).post(list_url(project), data)

    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert f'value="{data["url"]}"' in html
    assert Webhook.objects.count() == 0


def test_an_admin_switches_a_webhook_off_and_on(visit, project, public_hook):
    client = visit(Role.ADMIN)
    toggle = reverse("webhook-toggle", args=[project.slug, public_hook.pk])

    response = client.post(toggle, {"active": "0"})

    public_hook.refresh_from_db()
    assert response.status_code == 302
    assert not public_hook.active
    assert "Switch on" in client.get(list_url(project)).content.decode()

    client.post(toggle, {"active": "1"})

    public_hook.refresh_from_db()
    assert public_hook.active


def test_an_admin_deletes_a_webhook_with_its_deliveries(visit, project, public_hook):
    make_delivery(public_hook)

    response = visit(Role.ADMIN).post(
        reverse("webhook-delete", args=[project.slug, public_hook.pk])
    )

    assert response.status_code == 302
    assert Webhook.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_the_deliveries_page_shows_what_was_sent_and_what_came_back(visit, public_hook):
    make_delivery(
        public_hook,
        payload={"event": LABEL_MOVED, "prompt": "<script>alert(1)</script>"},
        status="failed",
        attempts=6,
        response_status=503,
        response_body="<b>busy</b>",
        error="The receiver answered 503.",
    )

    response = visit(Role.ADMIN).get(deliveries_url(public_hook))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<details class="delivery status-failed">' in html
    assert "<code>label.moved</code>" in html
    assert '<span class="num">6</span>' in html
    assert '<span class="num">503</span>' in html
    assert (
        "&quot;prompt&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    )
    assert "&lt;b&gt;busy&lt;/b&gt;" in html
    assert "<script>alert" not in html
    assert "<b>busy</b>" not in html
    assert "Redeliver" in html


def test_redeliver_sends_the_same_event_again_as_a_new_delivery(
    visit, receiver, hook, committed
):
    original = make_delivery(
        hook, payload={"id": "e1", "event": LABEL_MOVED}, status="failed", attempts=6
    )
    url = reverse("webhook-redeliver", args=[hook.project.slug, hook.pk, original.pk])

    with committed():
        response = visit(Role.ADMIN).post(url)

    assert response.status_code == 302
    assert response["Location"] == deliveries_url(hook)
    again = WebhookDelivery.objects.exclude(pk=original.pk).get()
    assert again.payload == original.payload
    assert again.status == WebhookDelivery.Status.DELIVERED
    assert again.attempts == 1
    original.refresh_from_db()
    assert original.status == WebhookDelivery.Status.FAILED
    (request,) = receiver.requests
    assert json.loads(request["body"]) == {"id": "e1", "event": LABEL_MOVED}
    assert request["headers"]["X-Workbench-Delivery"] == str(again.pk)


def test_a_switched_off_webhook_is_not_redelivered(visit, public_hook):
    original = make_delivery(public_hook, status="failed")
    webhooks.webhook_set_active(webhook=public_hook, active=False, actor=None)
    url = reverse(
        "webhook-redeliver",
        args=[public_hook.project.slug, public_hook.pk, original.pk],
    )

    response = visit(Role.ADMIN).post(url)

    assert response.status_code == 400
    assert "webhook: is switched off" in response.content.decode()
    assert WebhookDelivery.objects.count() == 1
