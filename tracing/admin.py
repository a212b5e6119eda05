"""Admin for tracing: read-mostly views of batches, traces and their parts."""

from django.contrib import admin

from .models import (
    IngestionBatch,
    ModelPrice,
    Observation,
    ProcessedEvent,
    Score,
    Trace,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by ingestion are evidence: look, do not edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IngestionBatch)
class IngestionBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "project",
        "source",
        "event_count",
        "received_at",
        "processed_at",
        "attempts",
    ]
    list_filter = ["source", "project"]
    exclude = ["payload"]
    readonly_fields = [
        "project",
        "source",
        "events",
        "content_type",
        "sdk_version",
        "event_count",
        "received_at",
        "processed_at",
        "attempts",
        "last_error",
    ]
    actions = ["requeue"]

    @admin.action(description="Process again (resets the attempts counter)")
    def requeue(self, request, queryset):
        from .tasks import process_batch

        ids = list(
            queryset.filter(processed_at__isnull=True).values_list("pk", flat=True)
        )
        queryset.filter(pk__in=ids).update(attempts=0)
        for batch_id in ids:
            process_batch.delay(batch_id)
        self.message_user(request, f"Queued {len(ids)} unprocessed batches.")


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "project", "processed_at"]
    search_fields = ["event_id"]


@admin.register(Trace)
class TraceAdmin(ReadOnlyAdmin):
    list_display = ["trace_id", "name", "project", "user_id", "session_id", "timestamp"]
    list_filter = ["project", "environment"]
    search_fields = ["trace_id", "name", "user_id", "session_id"]
    date_hierarchy = "timestamp"


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = [
        "observation_id",
        "type",
        "name",
        "model",
        "total_cost",
        "price_source",
        "start_time",
    ]
    list_filter = ["project", "type", "price_source"]
    search_fields = ["observation_id", "trace_id", "name", "model", "prompt_name"]
    raw_id_fields = ["prompt_version"]


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = ["score_id", "name", "data_type", "value", "trace_id", "timestamp"]
    list_filter = ["project", "data_type", "source"]
    search_fields = ["score_id", "trace_id", "name"]


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model_name", "match_pattern", "project", "start_date", "unit"]
    list_filter = ["project"]
    search_fields = ["model_name", "match_pattern"]
