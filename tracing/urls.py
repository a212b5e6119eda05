from django.urls import path

from . import views

urlpatterns = [
    path("traces/", views.trace_list, name="trace-list"),
]
