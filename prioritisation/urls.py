from django.urls import path

from prioritisation import views

app_name = "prioritisation"

urlpatterns = [
    path("items/<int:pk>/score/", views.item_score, name="item_score"),
    path("items/<int:pk>/estimates/", views.estimates_edit, name="estimates_edit"),
    path("items/<int:pk>/scoring-inputs/", views.scoring_inputs_edit, name="scoring_inputs_edit"),
    path("products/<int:pk>/scoring/", views.scoring_settings, name="scoring_settings"),
    path("products/<int:pk>/rounds/", views.round_list, name="round_list"),
    path("products/<int:pk>/rounds/new/", views.round_create, name="round_create"),
    path("rounds/<int:pk>/", views.round_results, name="round_results"),
    path(
        "rounds/<int:pk>/head-to-head.csv",
        views.round_pairwise_csv,
        name="round_pairwise_csv",
    ),
    path("rounds/<int:pk>/ballot/", views.ballot, name="ballot"),
    path("rounds/<int:pk>/adopt/", views.round_adopt, name="round_adopt"),
    path("rounds/<int:pk>/keep/", views.round_keep, name="round_keep"),
    path("rounds/<int:pk>/close/", views.round_close, name="round_close"),
    path("rounds/<int:pk>/reopen/", views.round_reopen, name="round_reopen"),
    path("organisation/metrics/", views.metric_list, name="metric_list"),
    path("organisation/metrics/<int:pk>/edit/", views.metric_edit, name="metric_edit"),
    path("organisation/metrics/new/", views.metric_create, name="metric_create"),
    path("organisation/metrics/<int:pk>/archive/", views.metric_archive, name="metric_archive"),
    path("organisation/metrics/<int:pk>/restore/", views.metric_restore, name="metric_restore"),
    path("organisation/metrics/<int:pk>/delete/", views.metric_delete, name="metric_delete"),
]
