"""The native API for prompts and their review (``/api/v1/projects/<slug>/``).

Prompts are addressed by id (names hold "/" and any text), versions by
number under their prompt, comments by id under their prompt. Every view
checks access with the selectors' access functions (404 when the user may
not see the thing, 403 when they may see it but not do this), parses with
an input serializer, calls one service and renders an output serializer.
"""

import math

from django.db.models import Count, F, Max, OuterRef, Prefetch, Subquery
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from workbench.api.base import NativeApiView, documented, list_of, open_project, parsed
from workbench.models import Membership, Role
from workbench.selectors import PromptGrant, prompt_grants

from .. import services
from ..models import (
    Comment,
    Decision,
    FolderGrant,
    Label,
    Prompt,
    PromptType,
    PromptVersion,
    ReviewStatus,
)
from ..selectors import (
    TIMELINE_LIMIT,
    TimelineKind,
    prompt_for_user,
    prompt_timeline,
)
from ..services import comments, grants, reviews

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_TIMELINE_LIMIT = 1000
PROMPT_CONTENT_SCHEMA = {
    "oneOf": [
        {"type": "string", "description": "A text prompt."},
        {
            "type": "array",
            "description": "A chat prompt: messages and placeholders.",
            "items": {
                "type": "object",
                "properties": {
                    "role": {"type": "string"},
                    "content": {"type": "string"},
                    "type": {"type": "string", "enum": ["placeholder"]},
                    "name": {"type": "string"},
                },
            },
        },
    ]
}


# Access ---------------------------------------------------------------------


def prompt_access(request, slug, prompt_id, *, needs=Role.VIEWER):
    """The PromptAccess for the prompt with that id in the project, or fail."""
    project = open_project(request, slug)
    name = (
        Prompt.objects.filter(pk=prompt_id, project=project)
        .values_list("name", flat=True)
        .first()
    )
    if name is None:
        raise Http404("No such prompt.")
    return prompt_for_user(request.user, project, name, needs=needs)


def version_access(request, slug, prompt_id, number, *, needs=Role.VIEWER):
    """``(access, version)`` for version ``number`` of the prompt, or fail."""
    access = prompt_access(request, slug, prompt_id, needs=needs)
    version = access.prompt.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    version.prompt = access.prompt
    return access, version


def prompt_comment(access, comment_id):
    """The comment with that id on one of the prompt's versions, or 404."""
    comment = (
        Comment.objects.select_related("version", "resolved_by")
        .filter(pk=comment_id, version__prompt=access.prompt)
        .first()
    )
    if comment is None:
        raise Http404("No such comment.")
    comment.version.prompt = access.prompt
    return comment


def project_member(project, username, field):
    """The member called ``username``; a non-member is bad input for ``field``.

    Only members are looked up, so the answer says nothing about accounts
    outside the project.
    """
    membership = (
        Membership.objects.filter(project=project, user__username=username)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise serializers.ValidationError(
            {field: [f"{username} is not a member of {project.name}"]}
        )
    return membership.user


# Serializers: output ----------------------------------------------------------


@extend_schema_field(PROMPT_CONTENT_SCHEMA)
class PromptContentField(serializers.JSONField):
    """A text (string) or chat (list of messages) prompt."""


class LabelRefSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField(source="version_number")


class PromptSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    folder = serializers.CharField(help_text="The name up to its last '/'.")
    type = serializers.ChoiceField(PromptType.choices)
    tags = serializers.ListField(child=serializers.CharField())
    labels = LabelRefSerializer(many=True, source="labels.all")
    latestVersion = serializers.IntegerField(source="latest_number", allow_null=True)
    reviewStatus = serializers.ChoiceField(
        ReviewStatus.choices,
        source="latest_status",
        allow_null=True,
        help_text="The review status of the newest version.",
    )
    versionCount = serializers.IntegerField(source="version_count")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class VersionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    promptId = serializers.UUIDField(source="prompt_id")
    name = serializers.CharField(source="prompt.name")
    number = serializers.IntegerField()
    type = serializers.ChoiceField(PromptType.choices, source="prompt.type")
    prompt = PromptContentField(source="content")
    config = serializers.JSONField()
    commitMessage = serializers.CharField(source="commit_message", allow_null=True)
    labels = serializers.SerializerMethodField()
    variables = serializers.ListField(child=serializers.CharField())
    reviewStatus = serializers.ChoiceField(ReviewStatus.choices, source="review_status")
    createdBy = serializers.CharField(source="created_by_name")
    createdAt = serializers.DateTimeField(source="created_at")

    def get_labels(self, version) -> list[str]:
        return sorted(label.name for label in version.labels.all())


class VersionStatusSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    reviewStatus = serializers.ChoiceField(ReviewStatus.choices, source="review_status")


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version.number")
    parentId = serializers.IntegerField(source="parent_id", allow_null=True)
    author = serializers.CharField(source="author_name")
    body = serializers.CharField(help_text="Empty once the comment is deleted.")
    message = serializers.IntegerField(
        allow_null=True, help_text="The chat message (from 0) the line is in."
    )
    line = serializers.IntegerField(allow_null=True, help_text="From 1.")
    createdAt = serializers.DateTimeField(source="created_at")
    editedAt = serializers.DateTimeField(source="edited_at", allow_null=True)
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)
    resolvedBy = serializers.CharField(
        source="resolved_by.username", allow_null=True, default=None
    )
    deleted = serializers.SerializerMethodField()

    def get_deleted(self, comment) -> bool:
        return comment.deleted_at is not None


class ThreadSerializer(CommentSerializer):
    replies = CommentSerializer(
        many=True, source="replies_in_thread", help_text="Oldest first."
    )


class ReviewRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = VersionStatusSerializer()
    requestedBy = serializers.CharField(
        source="requested_by.username", allow_null=True, default=None
    )
    reviewers = serializers.SerializerMethodField(
        help_text="The named reviewers, or everyone who may review."
    )
    message = serializers.CharField()
    open = serializers.SerializerMethodField(
        help_text="Only decisions under the open request count."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    closedAt = serializers.DateTimeField(source="closed_at", allow_null=True)

    def get_reviewers(self, request) -> list[str]:
        return [user.get_username() for user in reviews.requested_reviewers(request)]

    def get_open(self, request) -> bool:
        return request.closed_at is None


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    requestId = serializers.IntegerField(source="request_id")
    version = VersionStatusSerializer()
    reviewer = serializers.CharField(source="reviewer_name")
    decision = serializers.ChoiceField(Decision.choices)
    body = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class LabelMoveSerializer(serializers.Serializer):
    label = serializers.CharField()
    fromVersion = serializers.IntegerField(source="from_version", allow_null=True)
    toVersion = serializers.IntegerField(source="to_version", allow_null=True)
    movedBy = serializers.CharField(source="moved_by_name")
    movedAt = serializers.DateTimeField(source="moved_at")


class TimelineEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        [
            TimelineKind.VERSION,
            TimelineKind.REVIEW_REQUEST,
            TimelineKind.REVIEW,
            TimelineKind.COMMENT,
            TimelineKind.LABEL_MOVE,
        ]
    )
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    id = serializers.CharField(source="record_id")
    version = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(
        help_text="Commit message, request message, decision or comment body."
    )
    decision = serializers.ChoiceField(Decision.choices, allow_null=True)
    label = serializers.CharField(allow_null=True)
    fromVersion = serializers.IntegerField(source="from_version", allow_null=True)
    toVersion = serializers.IntegerField(source="to_version", allow_null=True)


class PromptGrantSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(Role.choices)
    promptId = serializers.UUIDField(source="prompt.id")
    promptName = serializers.CharField(source="prompt.name")


class FolderGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.CharField(source="user.username")
    prefix = serializers.CharField()
    role = serializers.ChoiceField(Role.choices)
    grantedBy = serializers.CharField(
        source="granted_by.username", allow_null=True, default=None
    )
    createdAt = serializers.DateTimeField(source="created_at")


class PageMetaSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    totalItems = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class PromptPageSerializer(serializers.Serializer):
    data = PromptSerializer(many=True)
    meta = PageMetaSerializer()


class ReviewListSerializer(serializers.Serializer):
    requests = ReviewRequestSerializer(many=True, help_text="Newest first.")
    decisions = ReviewSerializer(many=True, help_text="Oldest first.")


# Serializers: input -----------------------------------------------------------


class PromptFilterSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, help_text="Exact prompt name.")
    folder = serializers.CharField(
        required=False, help_text="Prompts under this folder, at any depth."
    )
    label = serializers.CharField(required=False, help_text="Prompts with this label.")
    status = serializers.ChoiceField(
        ReviewStatus.choices,
        required=False,
        help_text="Prompts whose newest version has this review status.",
    )
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
    )


class VersionInputSerializer(serializers.Serializer):
    prompt = PromptContentField(help_text="A string (text) or a list of messages.")
    type = serializers.ChoiceField(
        PromptType.choices,
        required=False,
        help_text="Defaults to the prompt's type, or to what 'prompt' holds.",
    )
    config = serializers.JSONField(required=False, default=dict)
    commitMessage = serializers.CharField(max_length=services.COMMIT_MESSAGE_MAX_LENGTH)
    labels = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Labels to move to the new version (protected ones need approval).",
    )

    def validate_config(self, config):
        if not isinstance(config, dict):
            raise serializers.ValidationError("must be a JSON object")
        return config


class PromptInputSerializer(VersionInputSerializer):
    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
    tags = serializers.ListField(child=serializers.CharField(), required=False)


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=comments.BODY_MAX_LENGTH)
    parent = serializers.IntegerField(
        required=False, allow_null=True, help_text="Reply to this comment."
    )
    message = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="For a line of a chat prompt: the message's index, from 0.",
    )
    line = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="From 1."
    )


class CommentEditSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=comments.BODY_MAX_LENGTH)


class ReviewRequestInputSerializer(serializers.Serializer):
    reviewers = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="User names; none asks everyone who may review.",
    )
    message = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(Decision.choices)
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=reviews.BODY_MAX_LENGTH,
        help_text="Required when requesting changes.",
    )


class LabelMoveInputSerializer(serializers.Serializer):
    label = serializers.CharField()
    version = serializers.IntegerField(min_value=1, help_text="The version number.")


class LabelRollbackInputSerializer(serializers.Serializer):
    label = serializers.CharField()


class TimelineFilterSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TIMELINE_LIMIT,
        default=TIMELINE_LIMIT,
    )


class PromptGrantInputSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="A member's user name.")
    role = serializers.ChoiceField(Role.choices)


class FolderGrantInputSerializer(PromptGrantInputSerializer):
    prefix = serializers.CharField(help_text="Prompts whose names start with this.")


# Prompts ----------------------------------------------------------------------


def prompt_rows(prompts):
    """``prompts`` with their labels, newest version and its review status."""
    newest = PromptVersion.objects.filter(prompt=OuterRef("pk")).order_by("-number")
    return (
        prompts.annotate(
            latest_number=Max("versions__number"),
            version_count=Count("versions"),
            latest_status=Subquery(newest.values("review_status")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "labels",
                queryset=Label.objects.annotate(version_number=F("version__number")),
            )
        )
        .order_by("name")
    )


def filtered_prompts(project, filters):
    prompts = Prompt.objects.filter(project=project)
    if filters.get("name"):
        prompts = prompts.filter(name=filters["name"])
    if filters.get("folder"):
        prompts = prompts.filter(name__startswith=filters["folder"].strip("/") + "/")
    if filters.get("label"):
        prompts = prompts.filter(labels__name=filters["label"])
    prompts = prompt_rows(prompts)
    if filters.get("status"):
        prompts = prompts.filter(latest_status=filters["status"])
    return prompts


class PromptCollection(NativeApiView):
    @extend_schema(
        operation_id="prompts_list",
        tags=["prompts"],
        summary="List the project's prompts",
        parameters=[PromptFilterSerializer],
        responses=documented({200: PromptPageSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        filters = parsed(PromptFilterSerializer, request.query_params)
        prompts = filtered_prompts(project, filters)
        total = prompts.count()
        page, limit = filters["page"], filters["limit"]
        offset = (page - 1) * limit
        # A page past the end is empty; its offset may not even fit the database.
        rows = prompts[offset : offset + limit] if offset < total else []
        meta = {
            "page": page,
            "limit": limit,
            "totalItems": total,
            "totalPages": math.ceil(total / limit),
        }
        return Response({"data": PromptSerializer(rows, many=True).data, "meta": meta})

    @extend_schema(
        operation_id="prompts_create",
        tags=["prompts"],
        summary="Create a prompt with its version 1 (editor)",
        request=PromptInputSerializer,
        responses=documented({201: VersionSerializer}),
    )
    def post(self, request, slug):
        project = open_project(request, slug, role=Role.EDITOR)
        data = parsed(PromptInputSerializer, request.data)
        if Prompt.objects.filter(project=project, name=data["name"].strip()).exists():
            raise serializers.ValidationError(
                {"name": ["a prompt with this name exists; add a version to it"]}
            )
        version = services.version_create(
            project=project,
            name=data["name"],
            content=data["prompt"],
            type=data.get("type"),
            config=data["config"],
            labels=data["labels"],
            tags=data.get("tags"),
            commit_message=data["commitMessage"],
            actor=request.user,
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class PromptItem(NativeApiView):
    @extend_schema(
        operation_id="prompts_retrieve",
        tags=["prompts"],
        summary="One prompt with its labels",
        responses=documented({200: PromptSerializer}, refusals=(401, 404)),
    )
    def get(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id)
        row = prompt_rows(Prompt.objects.filter(pk=access.prompt.pk)).get()
        return Response(PromptSerializer(row).data)


# Versions ---------------------------------------------------------------------


class VersionCollection(NativeApiView):
    @extend_schema(
        operation_id="versions_list",
        tags=["versions"],
        summary="The prompt's versions, newest first",
        responses=documented({200: list_of(VersionSerializer)}, refusals=(401, 404)),
    )
    def get(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id)
        versions = access.prompt.versions.order_by("-number").prefetch_related("labels")
        for version in versions:
            version.prompt = access.prompt
        return Response({"data": VersionSerializer(versions, many=True).data})

    @extend_schema(
        operation_id="versions_create",
        tags=["versions"],
        summary="Create the next version (editor on the prompt)",
        request=VersionInputSerializer,
        responses=documented({201: VersionSerializer}),
    )
    def post(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id, needs=Role.EDITOR)
        data = parsed(VersionInputSerializer, request.data)
        version = services.version_create(
            project=access.project,
            name=access.prompt.name,
            content=data["prompt"],
            type=data.get("type") or access.prompt.type,
            config=data["config"],
            labels=data["labels"],
            commit_message=data["commitMessage"],
            actor=request.user,
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionItem(NativeApiView):
    @extend_schema(
        operation_id="versions_retrieve",
        tags=["versions"],
        summary="One version",
        responses=documented({200: VersionSerializer}, refusals=(401, 404)),
    )
    def get(self, request, slug, prompt_id, number):
        _, version = version_access(request, slug, prompt_id, number)
        return Response(VersionSerializer(version).data)


# Labels -----------------------------------------------------------------------


class LabelMoveView(NativeApiView):
    @extend_schema(
        operation_id="labels_move",
        tags=["labels"],
        summary="Move a label to a version (deploy)",
        description=(
            "Protected labels move only to an approved version, and only for "
            "an approver of the prompt."
        ),
        request=LabelMoveInputSerializer,
        responses=documented({200: LabelMoveSerializer}),
    )
    def post(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id, needs=Role.EDITOR)
        data = parsed(LabelMoveInputSerializer, request.data)
        move = services.label_move(
            prompt=access.prompt,
            label=data["label"],
            version_number=data["version"],
            actor=request.user,
        )
        return Response(LabelMoveSerializer(move).data)


class LabelRollbackView(NativeApiView):
    @extend_schema(
        operation_id="labels_rollback",
        tags=["labels"],
        summary="Move a label back to the version it was on before its last move",
        request=LabelRollbackInputSerializer,
        responses=documented({200: LabelMoveSerializer}),
    )
    def post(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id, needs=Role.EDITOR)
        data = parsed(LabelRollbackInputSerializer, request.data)
        move = services.label_rollback(
            prompt=access.prompt, label=data["label"], actor=request.user
        )
        return Response(LabelMoveSerializer(move).data)


# Comments ---------------------------------------------------------------------


def version_threads(version):
    """The version's first comments, oldest first, each with ``replies``.

    A reply to a reply joins the thread of its first comment. One query.
    """
    found = list(
        version.comments.select_related("resolved_by").order_by("created_at", "id")
    )
    by_id = {comment.pk: comment for comment in found}
    threads = []
    for comment in found:
        comment.version = version
        comment.replies_in_thread = []
        root = comment
        while root.parent_id is not None and root.parent_id in by_id:
            root = by_id[root.parent_id]
        if root is comment:
            threads.append(comment)
        else:
            root.replies_in_thread.append(comment)
    return threads


class CommentCollection(NativeApiView):
    @extend_schema(
        operation_id="comments_list",
        tags=["comments"],
        summary="The version's comment threads, oldest first",
        responses=documented({200: list_of(ThreadSerializer)}, refusals=(401, 404)),
    )
    def get(self, request, slug, prompt_id, number):
        _, version = version_access(request, slug, prompt_id, number)
        threads = version_threads(version)
        return Response({"data": ThreadSerializer(threads, many=True).data})

    @extend_schema(
        operation_id="comments_create",
        tags=["comments"],
        summary="Comment on the version, a line of it, or reply (reviewer)",
        request=CommentInputSerializer,
        responses=documented({201: CommentSerializer}),
    )
    def post(self, request, slug, prompt_id, number):
        access, version = version_access(
            request, slug, prompt_id, number, needs=Role.REVIEWER
        )
        data = parsed(CommentInputSerializer, request.data)
        parent = None
        if data.get("parent") is not None:
            parent = version.comments.filter(pk=data["parent"]).first()
            if parent is None:
                raise serializers.ValidationError(
                    {"parent": [f"no comment {data['parent']} on this version"]}
                )
        comment = comments.comment_add(
            version=version,
            actor=request.user,
            body=data["body"],
            parent=parent,
            message=data.get("message"),
            line=data.get("line"),
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentItem(NativeApiView):
    @extend_schema(
        operation_id="comments_update",
        tags=["comments"],
        summary="Edit your comment",
        request=CommentEditSerializer,
        responses=documented({200: CommentSerializer}),
    )
    def patch(self, request, slug, prompt_id, comment_id):
        comment = prompt_comment(prompt_access(request, slug, prompt_id), comment_id)
        data = parsed(CommentEditSerializer, request.data)
        comment = comments.comment_edit(
            comment=comment, actor=request.user, body=data["body"]
        )
        return Response(CommentSerializer(comment).data)

    @extend_schema(
        operation_id="comments_destroy",
        tags=["comments"],
        summary="Delete your comment (its replies stay)",
        responses=documented({204: None}),
    )
    def delete(self, request, slug, prompt_id, comment_id):
        comment = prompt_comment(prompt_access(request, slug, prompt_id), comment_id)
        comments.comment_delete(comment=comment, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentResolve(NativeApiView):
    resolved = True

    @extend_schema(
        operation_id="comments_resolve",
        tags=["comments"],
        summary="Resolve a thread (its author or a reviewer)",
        request=None,
        responses=documented({200: CommentSerializer}),
    )
    def post(self, request, slug, prompt_id, comment_id):
        comment = prompt_comment(prompt_access(request, slug, prompt_id), comment_id)
        comment = comments.comment_resolve(
            comment=comment, actor=request.user, resolved=self.resolved
        )
        return Response(CommentSerializer(comment).data)


class CommentReopen(CommentResolve):
    resolved = False

    @extend_schema(
        operation_id="comments_reopen",
        tags=["comments"],
        summary="Open a resolved thread again",
        request=None,
        responses=documented({200: CommentSerializer}),
    )
    def post(self, request, slug, prompt_id, comment_id):
        return super().post(request, slug, prompt_id, comment_id)


# Reviews ----------------------------------------------------------------------


class ReviewRequestCollection(NativeApiView):
    @extend_schema(
        operation_id="review_requests_list",
        tags=["reviews"],
        summary="The version's review requests and decisions",
        responses=documented({200: ReviewListSerializer}, refusals=(401, 404)),
    )
    def get(self, request, slug, prompt_id, number):
        _, version = version_access(request, slug, prompt_id, number)
        requests = version.review_requests.select_related("requested_by")
        decisions = version.reviews.all()
        for row in [*requests, *decisions]:
            row.version = version
        body = {
            "requests": ReviewRequestSerializer(requests, many=True).data,
            "decisions": ReviewSerializer(decisions, many=True).data,
        }
        return Response(body)

    @extend_schema(
        operation_id="review_requests_create",
        tags=["reviews"],
        summary="Ask for review (the author or an editor)",
        request=ReviewRequestInputSerializer,
        responses=documented({201: ReviewRequestSerializer}),
    )
    def post(self, request, slug, prompt_id, number):
        access, version = version_access(request, slug, prompt_id, number)
        data = parsed(ReviewRequestInputSerializer, request.data)
        reviewers = [
            project_member(access.project, username, "reviewers")
            for username in data["reviewers"]
        ]
        review_request = reviews.review_request(
            version=version,
            actor=request.user,
            reviewers=reviewers,
            message=data["message"],
        )
        body = ReviewRequestSerializer(review_request).data
        return Response(body, status=status.HTTP_201_CREATED)


class ReviewCollection(NativeApiView):
    @extend_schema(
        operation_id="reviews_create",
        tags=["reviews"],
        summary="Approve or request changes (reviewer; approving needs approver)",
        request=ReviewInputSerializer,
        responses=documented({201: ReviewSerializer}),
    )
    def post(self, request, slug, prompt_id, number):
        _, version = version_access(
            request, slug, prompt_id, number, needs=Role.REVIEWER
        )
        data = parsed(ReviewInputSerializer, request.data)
        review = reviews.review_decide(
            version=version,
            actor=request.user,
            decision=data["decision"],
            body=data["body"],
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


# History ----------------------------------------------------------------------


class PromptHistory(NativeApiView):
    @extend_schema(
        operation_id="prompts_history",
        tags=["prompts"],
        summary="What happened to the prompt, newest first",
        parameters=[TimelineFilterSerializer],
        responses=documented(
            {200: list_of(TimelineEventSerializer)}, refusals=(400, 401, 404)
        ),
    )
    def get(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id)
        limit = parsed(TimelineFilterSerializer, request.query_params)["limit"]
        events = prompt_timeline(access.prompt, limit=limit)
        return Response({"data": TimelineEventSerializer(events, many=True).data})


# Grants -----------------------------------------------------------------------


class PromptGrantCollection(NativeApiView):
    @extend_schema(
        operation_id="prompt_grants_list",
        tags=["grants"],
        summary="Roles granted on this prompt",
        responses=documented(
            {200: list_of(PromptGrantSerializer)}, refusals=(401, 404)
        ),
    )
    def get(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id)
        found = [
            grant
            for grant in prompt_grants(access.project)
            if grant.prompt.pk == access.prompt.pk
        ]
        return Response({"data": PromptGrantSerializer(found, many=True).data})

    @extend_schema(
        operation_id="prompt_grants_set",
        tags=["grants"],
        summary="Grant a member a role on this prompt (admin of the prompt)",
        request=PromptGrantInputSerializer,
        responses=documented({200: PromptGrantSerializer}),
    )
    def post(self, request, slug, prompt_id):
        access = prompt_access(request, slug, prompt_id, needs=Role.ADMIN)
        data = parsed(PromptGrantInputSerializer, request.data)
        user = project_member(access.project, data["user"], "user")
        grants.prompt_grant_set(
            prompt=access.prompt, user=user, role=data["role"], actor=request.user
        )
        grant = PromptGrant(user=user, prompt=access.prompt, role=data["role"])
        return Response(PromptGrantSerializer(grant).data)


class PromptGrantItem(NativeApiView):
    @extend_schema(
        operation_id="prompt_grants_destroy",
        tags=["grants"],
        summary="Remove a member's grant on this prompt (admin of the prompt)",
        responses=documented({204: None}),
    )
    def delete(self, request, slug, prompt_id, username):
        access = prompt_access(request, slug, prompt_id, needs=Role.ADMIN)
        membership = (
            Membership.objects.filter(project=access.project, user__username=username)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise Http404(f"{username} is not a member of {access.project.name}.")
        user = membership.user
        grants.prompt_grant_remove(prompt=access.prompt, user=user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FolderGrantCollection(NativeApiView):
    @extend_schema(
        operation_id="folder_grants_list",
        tags=["grants"],
        summary="The project's folder grants",
        responses=documented(
            {200: list_of(FolderGrantSerializer)}, refusals=(401, 404)
        ),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        found = FolderGrant.objects.filter(project=project).select_related(
            "user", "granted_by"
        )
        body = FolderGrantSerializer(
            found.order_by("prefix", "user__username"), many=True
        )
        return Response({"data": body.data})

    @extend_schema(
        operation_id="folder_grants_set",
        tags=["grants"],
        summary="Grant a member a role on every prompt under a prefix (admin)",
        request=FolderGrantInputSerializer,
        responses=documented({200: FolderGrantSerializer}),
    )
    def post(self, request, slug):
        project = open_project(request, slug, role=Role.ADMIN)
        data = parsed(FolderGrantInputSerializer, request.data)
        user = project_member(project, data["user"], "user")
        grant = grants.folder_grant_set(
            project=project,
            user=user,
            prefix=data["prefix"],
            role=data["role"],
            actor=request.user,
        )
        return Response(FolderGrantSerializer(grant).data)


class FolderGrantItem(NativeApiView):
    @extend_schema(
        operation_id="folder_grants_destroy",
        tags=["grants"],
        summary="Remove a folder grant (admin)",
        responses=documented({204: None}),
    )
    def delete(self, request, slug, grant_id):
        project = open_project(request, slug, role=Role.ADMIN)
        grant = FolderGrant.objects.filter(project=project, pk=grant_id).first()
        if grant is None:
            raise Http404("No such folder grant.")
        grants.folder_grant_remove(grant=grant, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
