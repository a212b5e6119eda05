"""Routes of the native API for the insight reports, under ``api/v1/``."""

from django.urls import path

from . import v1_insights

REPORTS = "projects/<slug:slug>/reports/"

urlpatterns = [
    path(
        REPORTS + "inflation/",
        v1_insights.InflationReport.as_view(),
        name="v1-report-inflation",
    ),
    path(
        REPORTS + "models/", v1_insights.ModelReport.as_view(), name="v1-report-models"
    ),
    path(
        "projects/<slug:slug>/prompts/<uuid:prompt_id>/versions/<int:number>/usage/",
        v1_insights.VersionUsageView.as_view(),
        name="v1-version-usage",
    ),
]
