"""The prompt registry: prompts, their immutable versions, and labels."""

import re
import uuid

from django.conf import settings
from django.db import models
from guardian.models import UserObjectPermission
from simple_history import register as register_history
from simple_history.models import HistoricalRecords

from workbench.models import Project, Role

LATEST = "latest"
LABEL_PATTERN = re.compile(r"^[a-z0-9_\-.]{1,36}$")
VARIABLE_PATTERN = re.compile(r"\{\{\s*(.*?)\s*\}\}")
PLACEHOLDER_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
RESERVED_NAMES = {"new", "metrics", "prompt-detail"}
# Names may not hold a "/versions/<n>" segment: the PATCH route splits on it.
VERSIONS_SEGMENT = re.compile(r"(^|/)versions/\d+($|/)")


class PromptType(models.TextChoices):
    TEXT = "text", "Text"
    CHAT = "chat", "Chat"


class Prompt(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="prompts"
    )
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=8, choices=PromptType.choices)
    tags = models.JSONField(default=list, blank=True)
    # Version numbers are never reused, even after the newest version is
    # deleted, so the highest number ever given out is kept here.
    highest_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="prompt_unique_name_per_project"
            )
        ]
        # Object grants (django-guardian): one permission per project role,
        # so a grant on a prompt reads as "reviewer on this prompt".
        permissions = [
            ("review_prompt", "Comment on and review the prompt"),
            ("edit_prompt", "Create versions and move unprotected labels"),
            ("approve_prompt", "Approve versions and move protected labels"),
            ("admin_prompt", "Administer the prompt"),
        ]

    def __str__(self):
        return self.name

    @property
    def folder(self):
        return self.name.rpartition("/")[0]


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"


class PromptVersion(models.Model):
    """One version of a prompt; numbers count up from 1.

    Its content, config and commit message never change once created; only
    ``review_status`` moves, as reviews come in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prompt = models.ForeignKey(
        Prompt, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    content = models.JSONField(
        help_text="A string (text) or a list of messages (chat)."
    )
    config = models.JSONField(default=dict, blank=True, null=True)
    commit_message = models.CharField(max_length=500, blank=True, null=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_by_name = models.CharField(max_length=150, default="API")
    created_at = models.DateTimeField(auto_now_add=True)
    review_status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT
    )

    class Meta:
        ordering = ["prompt", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "number"], name="version_unique_number_per_prompt"
            )
        ]

    def __str__(self):
        return f"{self.prompt.name} v{self.number}"

    @property
    def variables(self):
        """Variable names used in the template, in order of first use."""
        found = []
        texts = (
            [self.content]
            if isinstance(self.content, str)
            else [
                message.get("content", "")
                for message in self.content
                if isinstance(message, dict)
            ]
        )
        for text in texts:
            for name in VARIABLE_PATTERN.findall(text or ""):
                if name and name not in found:
                    found.append(name)
        return found

    def compile(self, **values):
        """Substitute ``{{name}}`` values the way the Langfuse SDKs do.

        Returns ``(compiled, missing)``: unknown variables stay as literal text
        and are listed in ``missing``.
        """
        missing = []

        def substitute(text):
            def replace(match):
                name = match.group(1)
                if name in values:
                    value = values[name]
                    return "" if value is None else str(value)
                if name not in missing:
                    missing.append(name)
                return match.group(0)

            return VARIABLE_PATTERN.sub(replace, text)

        if isinstance(self.content, str):
            return substitute(self.content), missing
        compiled = []
        for message in self.content:
            if "content" in message:
                message = {**message, "content": substitute(message["content"])}
            compiled.append(message)
        return compiled, missing


class Label(models.Model):
    """A movable pointer from a label name to one version of a prompt."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=36)
    version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="labels"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "name"], name="label_unique_name_per_prompt"
            )
        ]

    def __str__(self):
        return f"{self.prompt.name}@{self.name}"


class LabelMove(models.Model):
    """The deployment history: every time a label was set, moved or removed."""

    prompt = models.ForeignKey(
        Prompt, on_delete=models.CASCADE, related_name="label_moves"
    )
    label = models.CharField(max_length=36)
    from_version = models.PositiveIntegerField(null=True, blank=True)
    to_version = models.PositiveIntegerField(null=True, blank=True)
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    moved_by_name = models.CharField(max_length=150)
    moved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-moved_at", "-id"]
        indexes = [models.Index(fields=["prompt", "label", "-moved_at"])]

    def __str__(self):
        return f"{self.label}: v{self.from_version} -> v{self.to_version}"


class FolderGrant(models.Model):
    """A role on every prompt whose name starts with ``prefix``.

    Like a grant on one prompt it adds to the member's project role and
    never takes anything away.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="folder_grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    prefix = models.CharField(max_length=255)
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["prefix"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "prefix"], name="folder_grant_unique"
            )
        ]

    def __str__(self):
        return f"{self.user} {self.role} on {self.prefix}*"

    def covers(self, name):
        return name.startswith(self.prefix)


class ReviewRequest(models.Model):
    """The author asks for review of one version.

    With no named reviewers, everyone who may review the prompt is asked.
    A newer request on the same version closes the older one, and only
    decisions made under the open request count.
    """

    version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="review_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="review_requests"
    )
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Review of {self.version}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REQUEST_CHANGES = "request_changes", "Changes requested"


class Review(models.Model):
    """One reviewer's decision on a version, under one review request."""

    request = models.ForeignKey(
        ReviewRequest, on_delete=models.CASCADE, related_name="reviews"
    )
    version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer_name = models.CharField(max_length=150)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.reviewer_name}: {self.decision} {self.version}"


class Comment(models.Model):
    """A comment on a version, optionally a reply, optionally on one line.

    ``message`` is the index of the chat message the line belongs to (None
    for text prompts); ``line`` counts from 1.
    """

    version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    message = models.PositiveIntegerField(null=True, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"Comment by {self.author_name} on {self.version_id}"

    @property
    def anchor(self):
        if self.line is None:
            return ""
        if self.message is None:
            return f"line {self.line}"
        return f"message {self.message + 1}, line {self.line}"


# Grants on single prompts are django-guardian's rows: keep their history
# too, so the audit log shows who granted or removed a role on a prompt.
register_history(
    UserObjectPermission,
    app="prompts",
    table_name="prompts_historicalpromptgrant",
    custom_model_name="HistoricalPromptGrant",
)
