from django.urls import path

from . import rollup_views, views

urlpatterns = [
    path("traces/", views.trace_list, name="trace-list"),
    # Trace ids come from clients and may hold any character, "/" included.
    path("traces/<path:trace_id>/", views.trace_detail, name="trace-detail"),
    path("costs/", views.cost_overview, name="cost-overview"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job-progress"),
    path("settings/usage/", rollup_views.rollup_status, name="rollup-status"),
]
