"""Webhook settings pages, under ``p/<project_slug>/``."""

from django.urls import path

from .views import webhooks as views

urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhook-list"),
    path(
        "settings/webhooks/<int:webhook_id>/toggle/",
        views.webhook_toggle,
        name="webhook-toggle",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/delete/",
        views.webhook_delete,
        name="webhook-delete",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/deliveries/",
        views.webhook_deliveries,
        name="webhook-deliveries",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/deliveries/<uuid:delivery_id>/redeliver/",
        views.webhook_redeliver,
        name="webhook-redeliver",
    ),
]
