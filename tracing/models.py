"""Traces, observations and scores, the raw batches they come from, and prices."""

import uuid

from django.db import models

from workbench.models import Project


class BatchSource(models.TextChoices):
    INGESTION = "ingestion", "Batch ingestion (JSON events)"
    OTEL = "otel", "OpenTelemetry (OTLP)"
    SCORES = "scores", "Scores"


class IngestionBatch(models.Model):
    """A request body as accepted, kept until a worker has processed it.

    The row is written before the response is sent, so a lost broker message
    or a killed worker only delays the data: a periodic sweep re-queues
    batches whose ``processed_at`` is still empty.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    source = models.CharField(max_length=16, choices=BatchSource.choices)
    events = models.JSONField(null=True, blank=True)
    payload = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    sdk_version = models.CharField(max_length=40, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["received_at"],
                name="batch_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.source} batch {self.pk} ({self.event_count} events)"


class ProcessedEvent(models.Model):
    """Envelope ids already applied, so a re-sent batch changes nothing."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    event_id = models.CharField(max_length=800)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "event_id"], name="processed_event_unique"
            )
        ]

    def __str__(self):
        return self.event_id


class Trace(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    trace_id = models.CharField(max_length=255)
    timestamp = models.DateTimeField(db_index=True)
    name = models.CharField(max_length=1000, blank=True, null=True)
    user_id = models.CharField(max_length=255, blank=True, null=True)
    session_id = models.CharField(max_length=255, blank=True, null=True)
    release = models.CharField(max_length=255, blank=True, null=True)
    version = models.CharField(max_length=255, blank=True, null=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    public = models.BooleanField(default=False)
    environment = models.CharField(max_length=40, default="default")
    # Time of the newest event applied: older events only fill empty fields,
    # so an update that arrives before its create still ends right.
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "trace_id"], name="trace_unique_id_per_project"
            )
        ]
        indexes = [
            models.Index(fields=["project", "-timestamp"]),
            models.Index(fields=["project", "user_id", "-timestamp"]),
            models.Index(fields=["project", "session_id", "-timestamp"]),
        ]

    def __str__(self):
        return self.name or self.trace_id


class ObservationType(models.TextChoices):
    SPAN = "SPAN"
    GENERATION = "GENERATION"
    EVENT = "EVENT"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAIN = "CHAIN"
    RETRIEVER = "RETRIEVER"
    EVALUATOR = "EVALUATOR"
    EMBEDDING = "EMBEDDING"
    GUARDRAIL = "GUARDRAIL"


class Level(models.TextChoices):
    DEBUG = "DEBUG"
    DEFAULT = "DEFAULT"
    WARNING = "WARNING"
    ERROR = "ERROR"


class PriceSource(models.TextChoices):
    REPORTED = "reported", "Reported by the client"
    PROJECT = "project", "Project model price"
    PUBLIC = "public", "Public price table (genai-prices)"
    UNKNOWN = "unknown", "No price known"


class Observation(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    observation_id = models.CharField(max_length=255)
    trace_id = models.CharField(max_length=255)
    parent_observation_id = models.CharField(max_length=255, blank=True, null=True)
    type = models.CharField(
        max_length=16, choices=ObservationType.choices, default=ObservationType.SPAN
    )
    name = models.CharField(max_length=1000, blank=True, null=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    completion_start_time = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=255, blank=True, null=True)
    model_parameters = models.JSONField(null=True, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.DEFAULT)
    status_message = models.TextField(blank=True, null=True)
    version = models.CharField(max_length=255, blank=True, null=True)
    environment = models.CharField(max_length=40, default="default")
    # Usage and cost as the client sent them, and as computed from prices.
    provided_usage_details = models.JSONField(default=dict, blank=True)
    usage_details = models.JSONField(default=dict, blank=True)
    provided_cost_details = models.JSONField(default=dict, blank=True)
    cost_details = models.JSONField(default=dict, blank=True)
    total_cost = models.DecimalField(
        max_digits=20, decimal_places=12, null=True, blank=True
    )
    price_source = models.CharField(
        max_length=10, choices=PriceSource.choices, blank=True, default=""
    )
    # The prices applied (USD per unit by usage key) and where they came from.
    price_used = models.JSONField(null=True, blank=True)
    prompt_version = models.ForeignKey(
        "prompts.PromptVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="observations",
    )
    prompt_name = models.CharField(max_length=255, blank=True, null=True)
    prompt_version_number = models.PositiveIntegerField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "observation_id"],
                name="observation_unique_id_per_project",
            )
        ]
        indexes = [
            models.Index(fields=["project", "trace_id"]),
            models.Index(fields=["project", "-start_time"]),
            models.Index(fields=["project", "prompt_name", "-start_time"]),
            # The trace list's filters on what a trace's calls did.
            models.Index(
                fields=["project", "model", "trace_id"], name="observation_model_idx"
            ),
            models.Index(
                fields=["project", "prompt_name", "prompt_version_number", "trace_id"],
                include=["start_time"],
                name="observation_prompt_version_idx",
            ),
            models.Index(
                fields=["project", "trace_id"],
                name="observation_error_idx",
                condition=models.Q(level="ERROR"),
            ),
        ]

    def __str__(self):
        return self.name or self.observation_id

    @property
    def latency_seconds(self):
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def time_to_first_token_seconds(self):
        if self.completion_start_time is None:
            return None
        return (self.completion_start_time - self.start_time).total_seconds()


class ScoreDataType(models.TextChoices):
    NUMERIC = "NUMERIC"
    BOOLEAN = "BOOLEAN"
    CATEGORICAL = "CATEGORICAL"
    TEXT = "TEXT"
    CORRECTION = "CORRECTION"


class Score(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    score_id = models.CharField(max_length=255)
    trace_id = models.CharField(max_length=255, blank=True, null=True)
    observation_id = models.CharField(max_length=255, blank=True, null=True)
    session_id = models.CharField(max_length=255, blank=True, null=True)
    dataset_run_id = models.CharField(max_length=255, blank=True, null=True)
    name = models.CharField(max_length=255)
    value = models.FloatField(null=True, blank=True)
    string_value = models.TextField(blank=True, null=True)
    data_type = models.CharField(max_length=12, choices=ScoreDataType.choices)
    comment = models.TextField(blank=True, null=True)
    metadata = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=20, default="API")
    config_id = models.CharField(max_length=255, blank=True, null=True)
    environment = models.CharField(max_length=40, default="default")
    timestamp = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "score_id"], name="score_unique_id_per_project"
            )
        ]
        indexes = [models.Index(fields=["project", "trace_id"])]

    def __str__(self):
        return (
            f"{self.name}={self.value if self.value is not None else self.string_value}"
        )


class ModelPrice(models.Model):
    """A project's own price for models whose name matches ``match_pattern``.

    ``prices`` maps a usage key (``input``, ``output``, ``input_cached_tokens``,
    ...) to a price in USD per unit. Among matching definitions, the one with
    the latest ``start_date`` not after the observation wins.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="model_prices"
    )
    model_name = models.CharField(max_length=255)
    match_pattern = models.CharField(max_length=500)
    start_date = models.DateTimeField(null=True, blank=True)
    unit = models.CharField(max_length=20, default="TOKENS")
    prices = models.JSONField(default=dict)
    tokenizer_id = models.CharField(max_length=40, blank=True, null=True)
    tokenizer_config = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_name", "-start_date"]

    def __str__(self):
        return f"{self.model_name} ({self.match_pattern})"


class Granularity(models.TextChoices):
    HOUR = "hour"
    DAY = "day"


class UsageBucket(models.Model):
    """LLM calls of one project aggregated per hour or day and per dimension.

    Rows are recomputed from observations, never incremented, so a roll-up
    can run twice or late. Text dimensions hold "" rather than NULL so the
    unique constraint also covers calls without a prompt, model or user.
    Histograms are ``tracing.histograms.Histogram.to_dict`` forms of latency
    and time to first token, in seconds.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="usage_buckets"
    )
    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket_start = models.DateTimeField()
    prompt_name = models.CharField(max_length=255, blank=True, default="")
    prompt_version = models.PositiveIntegerField(null=True, blank=True)
    model = models.CharField(max_length=255, blank=True, default="")
    user_id = models.CharField(max_length=255, blank=True, default="")
    feature = models.CharField(max_length=255, blank=True, default="")
    environment = models.CharField(max_length=40, blank=True, default="")
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    usage = models.JSONField(default=dict, blank=True)
    cost = models.DecimalField(max_digits=24, decimal_places=12, default=0)
    unpriced_calls = models.PositiveIntegerField(default=0)
    latency_histogram = models.JSONField(default=dict, blank=True)
    ttft_histogram = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["bucket_start"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "project",
                    "granularity",
                    "bucket_start",
                    "prompt_name",
                    "prompt_version",
                    "model",
                    "user_id",
                    "feature",
                    "environment",
                ],
                name="usage_bucket_unique_dimensions",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(
                fields=["project", "granularity", "bucket_start"],
                name="usage_bucket_window_idx",
            )
        ]

    def __str__(self):
        return f"{self.granularity} {self.bucket_start:%Y-%m-%d %H:%M} {self.model}"


class RollupWatermark(models.Model):
    """How far the incremental roll-up has read a project's observations.

    ``updated_at`` is the newest ``Observation.updated_at`` (or
    ``Trace.updated_at``) rolled up. The row is also the lock that keeps two
    roll-ups of one project from rewriting the same buckets at once.
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="rollup_watermark"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.project_id} rolled up to {self.updated_at}"


class StaleUsageHour(models.Model):
    """An hour whose buckets may still count a call that has moved out of it.

    Ingestion writes one when an update moves an LLM call's start to another
    hour; the next incremental roll-up rebuilds the hour and deletes the row.
    Duplicates are harmless (and cheaper than a unique check on every move).
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="stale_usage_hours"
    )
    hour = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "hour"])]

    def __str__(self):
        return f"{self.project_id} {self.hour:%Y-%m-%d %H:00} to roll up again"


class BudgetScope(models.TextChoices):
    PROJECT = "project", "Whole project"
    FEATURE = "feature", "One feature"
    USER = "user", "One end user"


def default_budget_thresholds():
    return [50, 80, 100]


class Budget(models.Model):
    """A monthly spending limit for a project, or for one feature or user in it.

    ``thresholds`` are percentages of ``monthly_amount``; crossing one sends
    an alert once per calendar month (UTC), recorded as a ``BudgetAlert``.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="budgets"
    )
    scope = models.CharField(
        max_length=10, choices=BudgetScope.choices, default=BudgetScope.PROJECT
    )
    # The feature name or end-user id; empty for a whole-project budget.
    scope_value = models.CharField(max_length=255, blank=True, default="")
    monthly_amount = models.DecimalField(max_digits=14, decimal_places=2)
    thresholds = models.JSONField(default=default_budget_thresholds)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "scope_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "scope", "scope_value"], name="budget_unique_scope"
            )
        ]

    def __str__(self):
        if self.scope == BudgetScope.PROJECT:
            return f"Project budget {self.monthly_amount} USD"
        return (
            f"{self.get_scope_display()} {self.scope_value}: {self.monthly_amount} USD"
        )


class BudgetAlert(models.Model):
    """One threshold of one budget crossed in one month: the alert went out."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField(help_text="The first day of the month (UTC).")
    threshold = models.PositiveSmallIntegerField()
    spend = models.DecimalField(max_digits=24, decimal_places=12)
    forecast = models.DecimalField(max_digits=24, decimal_places=12, null=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "month", "threshold"],
                name="budget_alert_once_per_month",
            )
        ]

    def __str__(self):
        return f"{self.budget} crossed {self.threshold}% in {self.month:%Y-%m}"


class JobKind(models.TextChoices):
    REBUILD_ROLLUPS = "rebuild_rollups", "Rebuild usage roll-ups"
    REPRICE = "reprice", "Re-price observations"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BackgroundJob(models.Model):
    """A long Celery job a person started, with the progress its page shows.

    ``done`` and ``total`` count the job's own units (days rebuilt,
    observations re-priced); ``params`` holds what it was asked to do.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="background_jobs"
    )
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.status}, {self.done}/{self.total})"

    @property
    def percent(self):
        if not self.total:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, round(100 * self.done / self.total))
