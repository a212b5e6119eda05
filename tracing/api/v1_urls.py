"""Routes of the native API about reports, under ``api/v1/projects/<slug>/``."""

from django.urls import path

from . import v1

REPORTS = "projects/<slug:slug>/reports/"

urlpatterns = [
    path(REPORTS + "spend/", v1.SpendReport.as_view(), name="v1-report-spend"),
    path(REPORTS + "trends/", v1.TrendReport.as_view(), name="v1-report-trends"),
    path(REPORTS + "unpriced/", v1.UnpricedReport.as_view(), name="v1-report-unpriced"),
]
