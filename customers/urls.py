from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("cohorts/", views.cohort_list, name="cohort_list"),
    path("cohorts/<int:pk>/edit/", views.cohort_edit, name="cohort_edit"),
]
