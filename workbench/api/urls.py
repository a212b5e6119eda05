from django.urls import path

from . import views

urlpatterns = [
    path("health", views.health, name="public-health"),
    path("projects", views.ProjectListView.as_view(), name="public-projects"),
]
