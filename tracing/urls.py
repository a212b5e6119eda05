from django.urls import path

from . import (
    budget_views,
    explore_views,
    price_views,
    report_views,
    rollup_views,
    views,
    views_insights,
)

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
    # The old Costs page, kept so bookmarks land on the spend report.
    path("costs/", report_views.cost_overview, name="cost-overview"),
    path("reports/spend/", report_views.report_spend, name="report-spend"),
    path("reports/spend.csv", report_views.report_spend_csv, name="report-spend-csv"),
    path("reports/trends/", report_views.report_trends, name="report-trends"),
    path(
        "reports/trends.csv",
        report_views.report_trends_csv,
        name="report-trends-csv",
    ),
    path("reports/unpriced/", report_views.report_unpriced, name="report-unpriced"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job-progress"),
    path(
        "reports/inflation/",
        views_insights.inflation_report,
        name="report-inflation",
    ),
    path("reports/models/", views_insights.models_report, name="report-models"),
    path(
        "reports/inflation.csv",
        views_insights.inflation_csv,
        name="report-inflation-csv",
    ),
    path("reports/models.csv", views_insights.models_csv, name="report-models-csv"),
    path(
        "reports/unpriced.csv",
        report_views.report_unpriced_csv,
        name="report-unpriced-csv",
    ),
    path("prices/", price_views.price_list, name="model-price-list"),
    path("prices/new/", price_views.price_add, name="model-price-add"),
    path(
        "prices/<uuid:price_id>/edit/", price_views.price_edit, name="model-price-edit"
    ),
    path(
        "prices/<uuid:price_id>/delete/",
        price_views.price_delete,
        name="model-price-delete",
    ),
    path("settings/usage/", rollup_views.rollup_status, name="rollup-status"),
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
