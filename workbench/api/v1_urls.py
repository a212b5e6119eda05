"""Routes of the native API about projects, people and integrations, under
``api/v1/``."""

from django.urls import path

from . import v1

urlpatterns = [
    path("projects/", v1.ProjectCollection.as_view(), name="v1-projects"),
    path(
        "projects/<slug:slug>/members/",
        v1.MemberCollection.as_view(),
        name="v1-members",
    ),
    path(
        "projects/<slug:slug>/members/<str:username>/",
        v1.MemberItem.as_view(),
        name="v1-member",
    ),
    path("projects/<slug:slug>/audit-log/", v1.AuditLog.as_view(), name="v1-audit"),
    path(
        "projects/<slug:slug>/webhooks/",
        v1.WebhookCollection.as_view(),
        name="v1-webhooks",
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:webhook_id>/",
        v1.WebhookItem.as_view(),
        name="v1-webhook",
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:webhook_id>/deliveries/",
        v1.WebhookDeliveries.as_view(),
        name="v1-webhook-deliveries",
    ),
    path("tokens/", v1.TokenCollection.as_view(), name="v1-tokens"),
    path("tokens/<int:token_id>/", v1.TokenItem.as_view(), name="v1-token"),
]
