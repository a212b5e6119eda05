from django.urls import path

from . import explore_views, views, views_insights

urlpatterns = [
    path("traces/", views.trace_list, name="trace-list"),
    # Trace ids come from clients and may hold any character, "/" included.
    path("traces/<path:trace_id>/", views.trace_detail, name="trace-detail"),
    path("sessions/", explore_views.session_list, name="session-list"),
    # Session and user ids are client text too; "/" included.
    path(
        "sessions/<path:session_id>/",
        explore_views.session_detail,
        name="session-detail",
    ),
    path("users/", explore_views.user_list, name="user-list"),
    path("users/<path:user_id>/", explore_views.user_detail, name="user-detail"),
    path("costs/", views.cost_overview, name="cost-overview"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job-progress"),
    path(
        "reports/inflation/",
        views_insights.inflation_report,
        name="report-inflation",
    ),
    path("reports/models/", views_insights.models_report, name="report-models"),
]
