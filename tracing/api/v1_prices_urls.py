"""Routes of the native API about model prices, under ``api/v1/``."""

from django.urls import path

from . import v1_prices

urlpatterns = [
    path(
        "projects/<slug:slug>/model-prices/",
        v1_prices.ModelPriceCollection.as_view(),
        name="v1-model-prices",
    ),
    path(
        "projects/<slug:slug>/model-prices/<uuid:price_id>/",
        v1_prices.ModelPriceItem.as_view(),
        name="v1-model-price",
    ),
]
