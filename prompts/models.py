"""The prompt registry: prompts, their immutable versions, and labels."""

import re
import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from workbench.models import Project

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

    def __str__(self):
        return self.name

    @property
    def folder(self):
        return self.name.rpartition("/")[0]


class PromptVersion(models.Model):
    """One immutable version of a prompt; numbers count up from 1."""

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
