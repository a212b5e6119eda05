"""Reads for the public API and the pages, always scoped to one project."""

from django.db import connection
from django.db.models import Max, Min, Subquery, Sum

from .models import ModelPrice, Observation, Score, Trace


def _tags_filter(queryset, tags):
    for tag in tags:
        if connection.vendor == "postgresql":
            queryset = queryset.filter(tags__contains=[tag])
        else:
            # SQLite has no JSON containment; the quoted element is close enough.
            queryset = queryset.filter(tags__icontains=f'"{tag}"')
    return queryset


def _time_range(queryset, field, start, end):
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset


def trace_list(*, project_id, filters):
    """Traces newest first; ``filters`` holds parsed query values (or None)."""
    traces = Trace.objects.filter(project_id=project_id)
    for field, key in (
        ("user_id", "userId"),
        ("name", "name"),
        ("session_id", "sessionId"),
        ("environment", "environment"),
        ("release", "release"),
        ("version", "version"),
    ):
        if filters.get(key):
            traces = traces.filter(**{field: filters[key]})
    traces = _tags_filter(traces, filters.get("tags") or [])
    traces = _time_range(
        traces, "timestamp", filters.get("fromTimestamp"), filters.get("toTimestamp")
    )
    if filters.get("promptName"):
        prompted = Observation.objects.filter(
            project_id=project_id, prompt_name=filters["promptName"]
        ).values("trace_id")
        traces = traces.filter(trace_id__in=Subquery(prompted))
    return traces.order_by("-timestamp", "trace_id")


def trace_rollups(*, project_id, trace_ids):
    """Per trace: observation ids, total cost, first start and last end."""
    rollups = {
        trace_id: {"observations": [], "scores": [], "cost": None, "start": None}
        for trace_id in trace_ids
    }
    rows = Observation.objects.filter(
        project_id=project_id, trace_id__in=trace_ids
    ).values_list("trace_id", "observation_id")
    for trace_id, observation_id in rows:
        rollups[trace_id]["observations"].append(observation_id)
    sums = (
        Observation.objects.filter(project_id=project_id, trace_id__in=trace_ids)
        .values("trace_id")
        .annotate(cost=Sum("total_cost"), start=Min("start_time"), end=Max("end_time"))
    )
    for row in sums:
        rollups[row["trace_id"]].update(row)
    scores = Score.objects.filter(
        project_id=project_id, trace_id__in=trace_ids
    ).values_list("trace_id", "score_id")
    for trace_id, score_id in scores:
        rollups[trace_id]["scores"].append(score_id)
    return rollups


def trace_detail(*, project_id, trace_id):
    """A trace with its observations and scores, or None when not this project's."""
    trace = Trace.objects.filter(project_id=project_id, trace_id=trace_id).first()
    if trace is None:
        return None
    observations = list(
        Observation.objects.filter(project_id=project_id, trace_id=trace_id)
        .select_related("prompt_version")
        .order_by("start_time")
    )
    scores = list(Score.objects.filter(project_id=project_id, trace_id=trace_id))
    return trace, observations, scores


def observation_list(*, project_id, filters):
    observations = Observation.objects.filter(project_id=project_id)
    for field, key in (
        ("trace_id", "traceId"),
        ("name", "name"),
        ("type", "type"),
        ("prompt_name", "promptName"),
        ("parent_observation_id", "parentObservationId"),
        ("environment", "environment"),
        ("level", "level"),
    ):
        if filters.get(key):
            observations = observations.filter(**{field: filters[key]})
    if filters.get("userId"):
        users = Trace.objects.filter(
            project_id=project_id, user_id=filters["userId"]
        ).values("trace_id")
        observations = observations.filter(trace_id__in=Subquery(users))
    observations = _time_range(
        observations,
        "start_time",
        filters.get("fromStartTime"),
        filters.get("toStartTime"),
    )
    return observations.order_by("-start_time", "observation_id")


def observation_detail(*, project_id, observation_id):
    return (
        Observation.objects.filter(project_id=project_id, observation_id=observation_id)
        .select_related("prompt_version")
        .first()
    )


def session_list(*, project_id, filters):
    """Sessions (from their traces' session ids), newest first."""
    traces = Trace.objects.filter(project_id=project_id, session_id__isnull=False)
    if filters.get("environment"):
        traces = traces.filter(environment=filters["environment"])
    sessions = (
        traces.values("session_id")
        .annotate(created_at=Min("timestamp"), first_environment=Min("environment"))
        .order_by("-created_at", "session_id")
    )
    if filters.get("fromTimestamp"):
        sessions = sessions.filter(created_at__gte=filters["fromTimestamp"])
    if filters.get("toTimestamp"):
        sessions = sessions.filter(created_at__lt=filters["toTimestamp"])
    return sessions


def session_detail(*, project_id, session_id):
    traces = list(
        Trace.objects.filter(project_id=project_id, session_id=session_id).order_by(
            "timestamp"
        )
    )
    return traces or None


def score_list(*, project_id, filters):
    scores = Score.objects.filter(project_id=project_id)
    for field, key in (
        ("name", "name"),
        ("trace_id", "traceId"),
        ("observation_id", "observationId"),
        ("session_id", "sessionId"),
        ("source", "source"),
        ("data_type", "dataType"),
        ("environment", "environment"),
        ("config_id", "configId"),
    ):
        if filters.get(key):
            scores = scores.filter(**{field: filters[key]})
    if filters.get("userId"):
        users = Trace.objects.filter(
            project_id=project_id, user_id=filters["userId"]
        ).values("trace_id")
        scores = scores.filter(trace_id__in=Subquery(users))
    scores = _time_range(
        scores, "timestamp", filters.get("fromTimestamp"), filters.get("toTimestamp")
    )
    return scores.order_by("-timestamp", "score_id")


def model_price_list(*, project_id):
    return ModelPrice.objects.filter(project_id=project_id).order_by(
        "model_name", "-start_date", "id"
    )


def model_price_detail(*, project_id, model_id):
    return ModelPrice.objects.filter(project_id=project_id, pk=model_id).first()
