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
    path(
        "products/<int:pk>/rounds/",
        prioritisation_api.ProductRoundsView.as_view(),
        name="product_rounds",
    ),
    path(
        "rounds/<int:pk>/result/",
        prioritisation_api.RoundResultView.as_view(),
        name="round_result",
    ),
    path(
        "rounds/<int:pk>/ballot/",
        prioritisation_api.RoundBallotView.as_view(),
        name="round_ballot",
    ),
    path(
        "products/<int:pk>/sessions/",
        backlog_api.ProductSessionsView.as_view(),
        name="product_sessions",
    ),
    path("sessions/<int:pk>/", backlog_api.SessionDetailView.as_view(), name="session_detail"),
]
