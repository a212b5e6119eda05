from django.urls import path

from . import views, views_insights

urlpatterns = [
    path("traces/", views.trace_list, name="trace-list"),
    # Trace ids come from clients and may hold any character, "/" included.
    path("traces/<path:trace_id>/", views.trace_detail, name="trace-detail"),
    path("costs/", views.cost_overview, name="cost-overview"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job-progress"),
    path(
        "reports/inflation/",
        views_insights.inflation_report,
        name="report-inflation",
    ),
    path("reports/models/", views_insights.models_report, name="report-models"),
]
