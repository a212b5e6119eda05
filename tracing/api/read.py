"""Legacy read endpoints of Langfuse's public API (2.x and 3.x ``fetch_*``)."""

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tracing import selectors
from tracing.metrics import DailyFilters, daily_usage
from workbench.api.base import PublicApiView
from workbench.api.errors import error_json
from workbench.models import Project

from . import output
from .params import filters, listed, paginate, pagination

TRACE_FILTERS = {
    "strings": (
        "userId",
        "name",
        "sessionId",
        "environment",
        "release",
        "version",
        "promptName",
    ),
    "timestamps": ("fromTimestamp", "toTimestamp"),
    "lists": ("tags",),
}
OBSERVATION_FILTERS = {
    "strings": (
        "traceId",
        "name",
        "userId",
        "type",
        "promptName",
        "parentObservationId",
        "environment",
        "level",
    ),
    "timestamps": ("fromStartTime", "toStartTime"),
}
SESSION_FILTERS = {
    "strings": ("environment",),
    "timestamps": ("fromTimestamp", "toTimestamp"),
}
DAILY_METRICS_FILTERS = {
    "strings": ("traceName", "userId"),
    "timestamps": ("fromTimestamp", "toTimestamp"),
}
SCORE_FILTERS = {
    "strings": (
        "name",
        "traceId",
        "observationId",
        "sessionId",
        "source",
        "dataType",
        "environment",
        "configId",
        "userId",
    ),
    "timestamps": ("fromTimestamp", "toTimestamp"),
}


def _listing(data, page, limit, total):
    return Response({"data": data, "meta": output.page_meta(page, limit, total)})


class TraceListView(PublicApiView):
    def get(self, request):
        page, limit = pagination(request.query_params)
        parsed = filters(request.query_params, **TRACE_FILTERS)
        project_id = request.user.project_id
        traces, total = paginate(
            selectors.trace_list(project_id=project_id, filters=parsed), page, limit
        )
        rollups = selectors.trace_rollups(
            project_id=project_id, trace_ids=[trace.trace_id for trace in traces]
        )
        slug = Project.objects.values_list("slug", flat=True).get(pk=project_id)
        data = [
            output.trace_list_json(trace, rollups[trace.trace_id], project_slug=slug)
            for trace in traces
        ]
        return _listing(data, page, limit, total)


class TraceDetailView(PublicApiView):
    def get(self, request, trace_id):
        project_id = request.user.project_id
        found = selectors.trace_detail(project_id=project_id, trace_id=trace_id)
        if found is None:
            return error_json(404, f"Trace not found: {trace_id!r}")
        trace, observations, scores = found
        slug = Project.objects.values_list("slug", flat=True).get(pk=project_id)
        body = output.trace_json(trace, project_slug=slug)
        costs = [o.total_cost for o in observations if o.total_cost is not None]
        starts = [o.start_time for o in observations]
        ends = [o.end_time for o in observations if o.end_time]
        body["totalCost"] = float(sum(costs)) if costs else 0
        body["latency"] = (max(ends) - min(starts)).total_seconds() if ends else 0
        body["observations"] = [output.observation_json(o) for o in observations]
        body["scores"] = [output.score_json(score) for score in scores]
        return Response(body)


class ObservationListView(PublicApiView):
    def get(self, request):
        page, limit = pagination(request.query_params)
        parsed = filters(request.query_params, **OBSERVATION_FILTERS)
        observations, total = paginate(
            selectors.observation_list(
                project_id=request.user.project_id, filters=parsed
            ),
            page,
            limit,
        )
        data = [output.observation_json(o) for o in observations]
        return _listing(data, page, limit, total)


class ObservationDetailView(PublicApiView):
    def get(self, request, observation_id):
        observation = selectors.observation_detail(
            project_id=request.user.project_id, observation_id=observation_id
        )
        if observation is None:
            return error_json(404, f"Observation not found: {observation_id!r}")
        return Response(output.observation_json(observation))


def _session_json(row, project_id):
    return {
        "id": row["session_id"],
        "createdAt": output.iso(row["created_at"]),
        "projectId": str(project_id),
        "environment": row["first_environment"],
    }


class SessionListView(PublicApiView):
    def get(self, request):
        page, limit = pagination(request.query_params)
        parsed = filters(request.query_params, **SESSION_FILTERS)
        project_id = request.user.project_id
        sessions, total = paginate(
            selectors.session_list(project_id=project_id, filters=parsed), page, limit
        )
        data = [_session_json(row, project_id) for row in sessions]
        return _listing(data, page, limit, total)


class SessionDetailView(PublicApiView):
    def get(self, request, session_id):
        project_id = request.user.project_id
        traces = selectors.session_detail(project_id=project_id, session_id=session_id)
        if traces is None:
            return error_json(404, f"Session not found: {session_id!r}")
        slug = Project.objects.values_list("slug", flat=True).get(pk=project_id)
        return Response(
            {
                "id": session_id,
                "createdAt": output.iso(traces[0].timestamp),
                "projectId": str(project_id),
                "environment": traces[0].environment,
                "traces": [output.trace_json(t, project_slug=slug) for t in traces],
            }
        )


class ScoreListView(PublicApiView):
    def get(self, request):
        page, limit = pagination(request.query_params)
        parsed = filters(request.query_params, **SCORE_FILTERS)
        scores, total = paginate(
            selectors.score_list(project_id=request.user.project_id, filters=parsed),
            page,
            limit,
        )
        return _listing([output.score_json(s) for s in scores], page, limit, total)


def daily_filters(query):
    parsed = filters(query, **DAILY_METRICS_FILTERS)
    start, end = parsed["fromTimestamp"], parsed["toTimestamp"]
    if start is not None and end is not None and start >= end:
        raise ValidationError({"toTimestamp": "must be after fromTimestamp"})
    return DailyFilters(
        trace_name=parsed["traceName"],
        user_id=parsed["userId"],
        tags=listed(query, "tags"),
        environments=listed(query, "environment"),
        start=start,
        end=end,
    )


class DailyMetricsView(PublicApiView):
    """Calls, tokens and cost per day and model, newest day first.

    See ``tracing.metrics`` for where each figure comes from.
    """

    def get(self, request):
        page, limit = pagination(request.query_params)
        days, total = daily_usage(
            project_id=request.user.project_id,
            filters=daily_filters(request.query_params),
            page=page,
            limit=limit,
        )
        data = [output.daily_usage_json(daily) for daily in days]
        return _listing(data, page, limit, total)
