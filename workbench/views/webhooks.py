"""Project settings pages for webhooks: register, switch, delete, deliveries.

Every page needs the project's admin role.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from workbench import webhooks
from workbench.models import Role, Webhook, WebhookDelivery
from workbench.views import open_project, pretty_json
from workbench.views.settings import settings_tabs

DELIVERY_LIMIT = 100
# The new webhook whose secret the next page view shows, once.
NEW_SECRET_SESSION_KEY = "webhook_secret_once"


def project_webhook(project, webhook_id):
    return get_object_or_404(Webhook, pk=webhook_id, project=project)


def _list_page(request, project, *, form=None, error=None, status=200):
    webhook_list = list(project.webhooks.select_related("created_by"))
    new_secret = None
    new_id = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    if new_id is not None:
        new_secret = next((hook for hook in webhook_list if hook.pk == new_id), None)
    context = {
        "webhooks": webhook_list,
        "new_webhook": new_secret,
        "event_choices": Webhook.Event.choices,
        "form": form or {"url": "", "events": list(Webhook.Event.values)},
        "error": error,
        "signature_header": webhooks.SIGNATURE_HEADER,
        "allow_private": settings.WEBHOOKS_ALLOW_PRIVATE,
        "section": "settings",
        "tabs": settings_tabs(project, "webhooks"),
    }
    return render(request, "workbench/webhooks/list.html", context, status=status)


@login_required
def webhook_list(request, project_slug):
    """GET lists the webhooks; POST registers one and shows its secret once."""
    project = open_project(request, project_slug, role=Role.ADMIN)
    if request.method != "POST":
        return _list_page(request, project)
    form = {
        "url": request.POST.get("url", "").strip(),
        "events": request.POST.getlist("events"),
    }
    try:
        webhook = webhooks.webhook_create(
            project=project, url=form["url"], events=form["events"], actor=request.user
        )
    except webhooks.WebhookInputError as error:
        return _list_page(request, project, form=form, error=error, status=400)
    request.session[NEW_SECRET_SESSION_KEY] = webhook.pk
    return redirect("webhook-list", project.slug)


@login_required
@require_POST
def webhook_toggle(request, project_slug, webhook_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    webhook = project_webhook(project, webhook_id)
    active = request.POST.get("active") == "1"
    webhooks.webhook_set_active(webhook=webhook, active=active, actor=request.user)
    messages.success(
        request,
        f"Webhook to {webhook.url} {'switched on' if active else 'switched off'}.",
    )
    return redirect("webhook-list", project.slug)


@login_required
@require_POST
def webhook_delete(request, project_slug, webhook_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    webhook = project_webhook(project, webhook_id)
    url = webhook.url
    webhooks.webhook_delete(webhook=webhook, actor=request.user)
    messages.success(request, f"Webhook to {url} deleted, with its deliveries.")
    return redirect("webhook-list", project.slug)


def _deliveries_page(request, webhook, *, error=None, status=200):
    deliveries = list(webhook.deliveries.all()[:DELIVERY_LIMIT])
    for delivery in deliveries:
        delivery.payload_json = pretty_json(delivery.payload)
    context = {
        "webhook": webhook,
        "deliveries": deliveries,
        "limit": DELIVERY_LIMIT,
        "error": error,
        "section": "settings",
    }
    return render(request, "workbench/webhooks/deliveries.html", context, status=status)


@login_required
def webhook_deliveries(request, project_slug, webhook_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    return _deliveries_page(request, project_webhook(project, webhook_id))


@login_required
@require_POST
def webhook_redeliver(request, project_slug, webhook_id, delivery_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    webhook = project_webhook(project, webhook_id)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, webhook=webhook)
    try:
        webhooks.delivery_redeliver(delivery=delivery, actor=request.user)
    except webhooks.WebhookInputError as error:
        return _deliveries_page(request, webhook, error=error, status=400)
    messages.success(request, f"The {delivery.event} event is queued to send again.")
    return redirect("webhook-deliveries", project.slug, webhook.pk)
