"""Project administration and audit pages, under ``p/<project_slug>/``.

Actions take the member, prompt or key they act on from the POST body, so
no name with "/" ever sits before an action in a path.
"""

from django.urls import path

from .views import audit, settings, webhooks

urlpatterns = [
    path("settings/", settings.project_settings, name="project-settings"),
    path("settings/members/", settings.members, name="project-members"),
    path("settings/members/add/", settings.member_add, name="member-add"),
    path("settings/members/invite/", settings.member_invite, name="member-invite"),
    path(
        "settings/members/invite/resend/",
        settings.member_invite_resend,
        name="member-invite-resend",
    ),
    path("settings/members/role/", settings.member_role, name="member-role"),
    path("settings/members/remove/", settings.member_remove, name="member-remove"),
    path("settings/grants/", settings.grants, name="project-grants"),
    path("settings/grants/add/", settings.grant_add, name="grant-add"),
    path("settings/grants/remove/", settings.grant_remove, name="grant-remove"),
    path("settings/api-keys/", settings.api_keys, name="api-keys"),
    path("settings/api-keys/new/", settings.api_key_create, name="api-key-create"),
    path("settings/api-keys/revoke/", settings.api_key_revoke, name="api-key-revoke"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit/export.csv", audit.audit_csv, name="audit-csv"),
    path("settings/webhooks/", webhooks.webhook_list, name="webhook-list"),
    path(
        "settings/webhooks/<int:webhook_id>/toggle/",
        webhooks.webhook_toggle,
        name="webhook-toggle",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/delete/",
        webhooks.webhook_delete,
        name="webhook-delete",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/deliveries/",
        webhooks.webhook_deliveries,
        name="webhook-deliveries",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/deliveries/<uuid:delivery_id>/redeliver/",
        webhooks.webhook_redeliver,
        name="webhook-redeliver",
    ),
]
