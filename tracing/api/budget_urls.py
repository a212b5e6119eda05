"""Routes of the native API about budgets, under ``api/v1/``."""

from django.urls import path

from . import v1_budgets

urlpatterns = [
    path(
        "projects/<slug:slug>/budgets/",
        v1_budgets.BudgetCollection.as_view(),
        name="v1-budgets",
    ),
    path(
        "projects/<slug:slug>/budgets/<int:budget_id>/",
        v1_budgets.BudgetItem.as_view(),
        name="v1-budget",
    ),
]
