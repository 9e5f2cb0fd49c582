"""The versioned REST API (v1). Same permissions as the pages."""

from django.urls import path

from backlog import api as backlog_api
from prioritisation import api as prioritisation_api

app_name = "api"

urlpatterns = [
    path("products/", backlog_api.ProductListView.as_view(), name="product_list"),
    path("products/<int:pk>/items/", backlog_api.ProductItemsView.as_view(), name="product_items"),
    path("items/<int:pk>/", backlog_api.ItemDetailView.as_view(), name="item_detail"),
    path(
        "items/<int:pk>/estimates/",
        prioritisation_api.ItemEstimatesView.as_view(),
        name="item_estimates",
    ),
    path("items/<int:pk>/score/", prioritisation_api.ItemScoreView.as_view(), name="item_score"),
    path("metrics/", prioritisation_api.MetricListView.as_view(), name="metric_list"),
]
