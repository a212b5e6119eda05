"""Projects (tenants), who belongs to them, and the API keys services use."""

import hashlib
import re
import secrets
import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class NamingRule(models.TextChoices):
    NONE = "", "No rule"
    SERVICE_NAME_PROMPT_NAME = (
        "SERVICE_NAME_PROMPT_NAME",
        "SERVICE_NAME_PROMPT_NAME (capitals and underscores, service first)",
    )


NAMING_RULE_PATTERNS = {
    NamingRule.SERVICE_NAME_PROMPT_NAME: re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$"),
}


def default_protected_labels():
    return ["production"]


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    naming_rule = models.CharField(
        max_length=40, choices=NamingRule.choices, blank=True, default=""
    )
    protected_labels = models.JSONField(default=default_protected_labels, blank=True)
    required_approvals = models.PositiveSmallIntegerField(
        default=1,
        help_text="Approvals a version needs before a protected label may move to it.",
    )
    author_approval_counts = models.BooleanField(
        default=False,
        help_text="Whether the author's own approval counts (off: four eyes).",
    )
    feature_key = models.CharField(
        max_length=100,
        default="feature",
        blank=True,
        help_text=(
            "The trace metadata key (or 'key:value' tag) that names the feature "
            "a call belongs to in the reports."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def naming_rule_error(self, name):
        """Return why ``name`` breaks the project's naming rule, or None."""
        pattern = NAMING_RULE_PATTERNS.get(self.naming_rule)
        if pattern is None or pattern.match(name):
            return None
        return (
            f"Prompt name '{name}' does not follow the project's naming rule "
            f"{self.naming_rule}: capital letters, digits and underscores, "
            "at least two parts, the service name first (e.g. "
            "INTERVIEW_QUESTION_GENERATOR)."
        )


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    REVIEWER = "reviewer", "Reviewer"
    EDITOR = "editor", "Editor"
    APPROVER = "approver", "Approver"
    ADMIN = "admin", "Admin"


ROLE_RANK = {role: rank for rank, role in enumerate(Role.values)}


def stronger_role(*roles):
    """The strongest of ``roles`` (None entries ignored), or None."""
    present = [role for role in roles if role]
    return max(present, key=ROLE_RANK.__getitem__) if present else None


def role_at_least(role, needed):
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[needed]


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"], name="membership_unique_user_project"
            )
        ]

    def __str__(self):
        return f"{self.user} in {self.project} as {self.role}"

    def has_role(self, role):
        """True when this membership's role is ``role`` or a stronger one."""
        return role_at_least(self.role, role)


def hash_secret(secret):
    # Secrets are 32 random bytes, so a fast digest is as safe as a slow KDF
    # and keeps authentication off the hot path's budget.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="api_keys"
    )
    public_key = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=64)
    secret_hint = models.CharField(max_length=12)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["secret_hash"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.public_key} ({self.project})"

    @classmethod
    def generate(
        cls, *, project, note="", created_by=None, public_key=None, secret=None
    ):
        """Create a key pair and return ``(api_key, secret)``.

        The secret is returned once and stored only as a hash.
        """
        public_key = public_key or f"pk-lf-{uuid.uuid4()}"
        secret = secret or f"sk-lf-{secrets.token_urlsafe(32)}"
        api_key = cls.objects.create(
            project=project,
            public_key=public_key,
            secret_hash=hash_secret(secret),
            secret_hint=f"...{secret[-4:]}",
            note=note,
            created_by=created_by,
        )
        return api_key, secret

    def check_secret(self, secret):
        return secrets.compare_digest(self.secret_hash, hash_secret(secret))


class Webhook(models.Model):
    """A URL that receives a signed JSON event when something happens."""

    class Event(models.TextChoices):
        LABEL_MOVED = "label.moved", "A label moved"
        VERSION_CREATED = "version.created", "A version was created"
        BUDGET_THRESHOLD_CROSSED = (
            "budget.threshold_crossed",
            "A budget's spend crossed one of its alert thresholds",
        )

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    # Shared with the receiver, which checks the HMAC-SHA256 signature.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with its last answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["webhook", "-created_at"])]

    def __str__(self):
        return f"{self.event} to {self.webhook_id}: {self.status}"


class PersonalAccessToken(models.Model):
    """A token a user's scripts send to the native API; it acts as the user.

    Only a hash is stored; the token is shown once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="access_tokens",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def generate(cls, *, user, name):
        """Create a token and return ``(token_record, token)``."""
        prefix = secrets.token_hex(4)
        token = f"wbt_{prefix}_{secrets.token_urlsafe(32)}"
        record = cls.objects.create(
            user=user, name=name, prefix=prefix, token_hash=hash_secret(token)
        )
        return record, token

    def check_token(self, token):
        return secrets.compare_digest(self.token_hash, hash_secret(token))
