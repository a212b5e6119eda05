from django.urls import path

from . import budget_views, views

urlpatterns = [
    path("traces/", views.trace_list, name="trace-list"),
    # Trace ids come from clients and may hold any character, "/" included.
    path("traces/<path:trace_id>/", views.trace_detail, name="trace-detail"),
    path("costs/", views.cost_overview, name="cost-overview"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job-progress"),
    path("reports/budgets/", budget_views.budget_list, name="budget-list"),
    path("reports/budgets/add/", budget_views.budget_add, name="budget-add"),
    path(
        "reports/budgets/<int:budget_id>/edit/",
        budget_views.budget_edit,
        name="budget-edit",
    ),
    path(
        "reports/budgets/<int:budget_id>/delete/",
        budget_views.budget_delete,
        name="budget-delete",
    ),
]
