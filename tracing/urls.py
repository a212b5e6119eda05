from django.urls import path

from . import price_views, views

urlpatterns = [
    path("traces/", views.trace_list, name="trace-list"),
    # Trace ids come from clients and may hold any character, "/" included.
    path("traces/<path:trace_id>/", views.trace_detail, name="trace-detail"),
    path("costs/", views.cost_overview, name="cost-overview"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job-progress"),
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
]
