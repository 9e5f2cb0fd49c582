from django.urls import path

from prioritisation import views

app_name = "prioritisation"

urlpatterns = [
    path("items/<int:pk>/score/", views.item_score, name="item_score"),
    path("items/<int:pk>/estimates/", views.estimates_edit, name="estimates_edit"),
    path("items/<int:pk>/scoring-inputs/", views.scoring_inputs_edit, name="scoring_inputs_edit"),
    path("products/<int:pk>/scoring/", views.scoring_settings, name="scoring_settings"),
    path("organisation/metrics/", views.metric_list, name="metric_list"),
    path("organisation/metrics/<int:pk>/edit/", views.metric_edit, name="metric_edit"),
]
