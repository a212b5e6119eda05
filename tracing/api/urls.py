from django.urls import path

from . import ingest, prices, read

urlpatterns = [
    path("ingestion", ingest.IngestionView.as_view(), name="public-ingestion"),
    path("otel/v1/traces", ingest.OtelTracesView.as_view(), name="public-otel-traces"),
    path("scores", ingest.ScoresView.as_view(), name="public-scores"),
    path("traces", read.TraceListView.as_view(), name="public-traces"),
    path("traces/<str:trace_id>", read.TraceDetailView.as_view(), name="public-trace"),
    path(
        "observations", read.ObservationListView.as_view(), name="public-observations"
    ),
    path(
        "observations/<str:observation_id>",
        read.ObservationDetailView.as_view(),
        name="public-observation",
    ),
    path("sessions", read.SessionListView.as_view(), name="public-sessions"),
    path(
        "sessions/<str:session_id>",
        read.SessionDetailView.as_view(),
        name="public-session",
    ),
    path("v2/scores", read.ScoreListView.as_view(), name="public-scores-v2"),
    path("metrics/daily", read.DailyMetricsView.as_view(), name="public-metrics-daily"),
    path("models", prices.ModelListView.as_view(), name="public-models"),
    path(
        "models/<str:model_id>", prices.ModelDetailView.as_view(), name="public-model"
    ),
]
