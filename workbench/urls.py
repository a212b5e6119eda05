import os

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from workbench import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Invited people choose their first password through these two pages.
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("tokens/", include("workbench.token_urls")),
    path("api/public/", include("workbench.api.urls")),
    path("api/public/", include("prompts.api.urls")),
    path("api/public/", include("tracing.api.urls")),
    path("api/v1/", include("workbench.api.v1_urls")),
    path("api/v1/", include("prompts.api.v1_urls")),
    path("api/v1/", include("tracing.api.v1_insights_urls")),
    path("api/v1/", include("tracing.api.v1_explore_urls")),
    path("api/v1/", include("tracing.api.v1_urls")),
    path("api/v1/", include("tracing.api.v1_prices_urls")),
    path("api/v1/", include("tracing.api.budget_urls")),
    path("api/schema/", views.api_schema, name="api-schema"),
    path("api/docs/", views.api_docs, name="api-docs"),
    path("p/<slug:project_slug>/", include("prompts.urls")),
    path("p/<slug:project_slug>/", include("tracing.urls")),
    path("p/<slug:project_slug>/", include("workbench.project_urls")),
]

# Paths under /api/ that match no route answer in the API's JSON error shape.
handler404 = "workbench.api.errors.not_found"

# `make bench` compares the prompt fetch with a bare JSON view on the same server.
if os.environ.get("WORKBENCH_BENCH_VIEWS") == "1":
    urlpatterns.append(path("bench/", include("workbench.bench_views")))
