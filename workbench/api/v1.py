"""The native API for projects, members, access tokens, the audit log and
webhooks (``/api/v1/``).

Any member reads the members and the audit log; admins change members and
manage webhooks. Access tokens belong to the person, not to a project: each
user sees and revokes only their own.
"""

import logging

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from workbench import audit, services, webhooks
from workbench.api.base import NativeApiView, documented, list_of, open_project, parsed
from workbench.models import (
    Membership,
    PersonalAccessToken,
    Role,
    Webhook,
    WebhookDelivery,
)
from workbench.selectors import membership_of, project_memberships

logger = logging.getLogger(__name__)

DELIVERY_LIMIT = 100


# Serializers ----------------------------------------------------------------


class ProjectSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    role = serializers.ChoiceField(Role.choices, help_text="Your role here.")
    protectedLabels = serializers.ListField(
        child=serializers.CharField(), source="protected_labels"
    )
    requiredApprovals = serializers.IntegerField(source="required_approvals")
    authorApprovalCounts = serializers.BooleanField(source="author_approval_counts")
    namingRule = serializers.CharField(source="naming_rule")


class MemberSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.get_full_name")
    role = serializers.ChoiceField(Role.choices)
    joinedAt = serializers.DateTimeField(source="created_at")


class MemberInputSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="An account's user name or email.")
    role = serializers.ChoiceField(Role.choices)


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(Role.choices)


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's second '_' part.")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(
        source="last_used_at", allow_null=True, help_text="To the minute."
    )
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="Shown only now: store it safely.")


class TokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=PersonalAccessToken._meta.get_field("name").max_length,
        help_text="What the token is for.",
    )


class AuditFilterSerializer(serializers.Serializer):
    person = serializers.CharField(required=False, help_text="A user name.")
    prompt = serializers.CharField(
        required=False, help_text="Part of a prompt name (any case)."
    )
    action = serializers.ChoiceField(audit.ACTIONS, required=False)
    date_from = serializers.DateField(required=False, help_text="From this day.")
    to = serializers.DateField(required=False, help_text="To this day, inclusive.")
    page = serializers.IntegerField(required=False, min_value=1, default=1)

    def get_fields(self):
        # "from" is a keyword, so the field is declared under another name.
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        return fields


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name")
    action = serializers.ChoiceField(audit.ACTIONS)
    prompt = serializers.CharField(source="prompt_name", allow_null=True)
    description = serializers.CharField()


class AuditMetaSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    hasNext = serializers.BooleanField()


class AuditPageSerializer(serializers.Serializer):
    data = AuditEntrySerializer(many=True)
    meta = AuditMetaSerializer()


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(Webhook.Event))
    active = serializers.BooleanField()
    createdBy = serializers.CharField(
        source="created_by.username", allow_null=True, default=None
    )
    createdAt = serializers.DateTimeField(source="created_at")


class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="Shown only now: the HMAC-SHA256 key of the signature header."
    )


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.CharField()
    status = serializers.ChoiceField(WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    responseStatus = serializers.IntegerField(source="response_status", allow_null=True)
    error = serializers.CharField()
    payload = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")
    lastAttemptAt = serializers.DateTimeField(source="last_attempt_at", allow_null=True)


# Projects -------------------------------------------------------------------


class ProjectCollection(NativeApiView):
    @extend_schema(
        operation_id="projects_list",
        tags=["projects"],
        summary="Your projects, with your role in each",
        responses=documented({200: list_of(ProjectSerializer)}, refusals=(401,)),
    )
    def get(self, request):
        memberships = Membership.objects.filter(user=request.user).select_related(
            "project"
        )
        projects = []
        for membership in memberships.order_by("project__name"):
            membership.project.role = membership.role
            projects.append(membership.project)
        return Response({"data": ProjectSerializer(projects, many=True).data})


# Members --------------------------------------------------------------------


class MemberCollection(NativeApiView):
    @extend_schema(
        operation_id="members_list",
        tags=["members"],
        summary="The project's members",
        responses=documented({200: list_of(MemberSerializer)}, refusals=(401, 404)),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        found = project_memberships(project)
        return Response({"data": MemberSerializer(found, many=True).data})

    @extend_schema(
        operation_id="members_create",
        tags=["members"],
        summary="Add an account as a member (admin)",
        request=MemberInputSerializer,
        responses=documented({201: MemberSerializer}),
    )
    def post(self, request, slug):
        project = open_project(request, slug, role=Role.ADMIN)
        data = parsed(MemberInputSerializer, request.data)
        membership = services.member_add(
            project=project,
            identifier=data["user"],
            role=data["role"],
            actor=request.user,
        )
        body = MemberSerializer(membership).data
        return Response(body, status=status.HTTP_201_CREATED)


class MemberItem(NativeApiView):
    @extend_schema(
        operation_id="members_update",
        tags=["members"],
        summary="Change a member's role (admin)",
        request=RoleInputSerializer,
        responses=documented({200: MemberSerializer}),
    )
    def patch(self, request, slug, username):
        project = open_project(request, slug, role=Role.ADMIN)
        membership = membership_of(project, username)
        data = parsed(RoleInputSerializer, request.data)
        membership = services.member_role_set(
            membership=membership, role=data["role"], actor=request.user
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        operation_id="members_destroy",
        tags=["members"],
        summary="Remove a member and their grants (admin)",
        responses=documented({204: None}),
    )
    def delete(self, request, slug, username):
        project = open_project(request, slug, role=Role.ADMIN)
        membership = membership_of(project, username)
        services.member_remove(membership=membership, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Access tokens --------------------------------------------------------------


class TokenCollection(NativeApiView):
    @extend_schema(
        operation_id="tokens_list",
        tags=["tokens"],
        summary="Your personal access tokens, newest first",
        responses=documented({200: list_of(TokenSerializer)}, refusals=(401,)),
    )
    def get(self, request):
        tokens = PersonalAccessToken.objects.filter(user=request.user)
        return Response({"data": TokenSerializer(tokens, many=True).data})

    @extend_schema(
        operation_id="tokens_create",
        tags=["tokens"],
        summary="Create a personal access token (signed-in browser session only)",
        description=(
            "The token is in the answer once. Send it as "
            "`Authorization: Bearer wbt_...`; it acts as you. A token cannot "
            "create tokens, so a leaked one cannot outlive its revocation."
        ),
        request=TokenInputSerializer,
        responses=documented({201: NewTokenSerializer}, refusals=(400, 401, 403)),
    )
    def post(self, request):
        if isinstance(request.auth, PersonalAccessToken):
            raise exceptions.PermissionDenied(
                "Access tokens are created from a signed-in browser session, "
                "not with another token."
            )
        data = parsed(TokenInputSerializer, request.data)
        record, token = services.access_token_create(
            user=request.user, name=data["name"]
        )
        record.token = token
        body = NewTokenSerializer(record).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenItem(NativeApiView):
    @extend_schema(
        operation_id="tokens_revoke",
        tags=["tokens"],
        summary="Revoke one of your tokens",
        responses=documented({204: None}),
    )
    def delete(self, request, token_id):
        record = PersonalAccessToken.objects.filter(
            pk=token_id, user=request.user
        ).first()
        if record is None:
            raise Http404("No such access token.")
        services.access_token_revoke(record=record, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Audit log ------------------------------------------------------------------


def audit_filters(data):
    """The log's filters; an unknown person matches nothing (and reveals
    nothing about accounts elsewhere)."""
    actor_id = None
    if data.get("person"):
        user = get_user_model().objects.filter(username=data["person"]).first()
        # No user has id 0, so the log then shows nothing rather than everything.
        actor_id = user.pk if user is not None else 0
    return audit.AuditFilters(
        actor_id=actor_id,
        prompt=data.get("prompt", "").strip(),
        action=data.get("action", ""),
        date_from=data.get("from"),
        date_to=data.get("to"),
    )


class AuditLog(NativeApiView):
    @extend_schema(
        operation_id="audit_log_list",
        tags=["audit"],
        summary="What happened in the project, newest first, 50 a page",
        parameters=[AuditFilterSerializer],
        responses=documented({200: AuditPageSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        data = parsed(AuditFilterSerializer, request.query_params)
        page = data["page"]
        entries, has_next = audit.audit_page(project, audit_filters(data), page)
        meta = {"page": page, "limit": audit.PAGE_SIZE, "hasNext": has_next}
        body = {"data": AuditEntrySerializer(entries, many=True).data, "meta": meta}
        return Response(body)


# Webhooks -------------------------------------------------------------------


def project_webhook(project, webhook_id):
    webhook = Webhook.objects.filter(project=project, pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook.")
    return webhook


class WebhookCollection(NativeApiView):
    @extend_schema(
        operation_id="webhooks_list",
        tags=["webhooks"],
        summary="The project's webhooks (admin)",
        responses=documented(
            {200: list_of(WebhookSerializer)}, refusals=(401, 403, 404)
        ),
    )
    def get(self, request, slug):
        project = open_project(request, slug, role=Role.ADMIN)
        found = project.webhooks.select_related("created_by")
        return Response({"data": WebhookSerializer(found, many=True).data})

    @extend_schema(
        operation_id="webhooks_create",
        tags=["webhooks"],
        summary="Register a webhook (admin); its secret is in the answer once",
        request=WebhookInputSerializer,
        responses=documented({201: NewWebhookSerializer}),
    )
    def post(self, request, slug):
        project = open_project(request, slug, role=Role.ADMIN)
        data = parsed(WebhookInputSerializer, request.data)
        webhook = webhooks.webhook_create(
            project=project, url=data["url"], events=data["events"], actor=request.user
        )
        body = NewWebhookSerializer(webhook).data
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookItem(NativeApiView):
    @extend_schema(
        operation_id="webhooks_destroy",
        tags=["webhooks"],
        summary="Delete a webhook and its deliveries (admin)",
        responses=documented({204: None}, refusals=(401, 403, 404)),
    )
    def delete(self, request, slug, webhook_id):
        project = open_project(request, slug, role=Role.ADMIN)
        webhook = project_webhook(project, webhook_id)
        webhooks.webhook_delete(webhook=webhook, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveries(NativeApiView):
    @extend_schema(
        operation_id="webhook_deliveries_list",
        tags=["webhooks"],
        summary="The webhook's latest 100 deliveries, newest first (admin)",
        responses=documented(
            {200: list_of(DeliverySerializer)}, refusals=(401, 403, 404)
        ),
    )
    def get(self, request, slug, webhook_id):
        project = open_project(request, slug, role=Role.ADMIN)
        webhook = project_webhook(project, webhook_id)
        found = webhook.deliveries.all()[:DELIVERY_LIMIT]
        return Response({"data": DeliverySerializer(found, many=True).data})
