from django.urls import path

from customers import views
from customers.views import cohorts, sign_in

app_name = "customers"

urlpatterns = [
    path("cohorts/", views.cohort_list, name="cohort_list"),
    path("cohorts/<int:pk>/edit/", views.cohort_edit, name="cohort_edit"),
    path("cohorts/new/", cohorts.cohort_create, name="cohort_create"),
    path("cohorts/<int:pk>/archive/", cohorts.cohort_archive, name="cohort_archive"),
    path("cohorts/<int:pk>/restore/", cohorts.cohort_restore, name="cohort_restore"),
    path("cohorts/<int:pk>/delete/", cohorts.cohort_delete, name="cohort_delete"),
    path("sign-in/", sign_in.password_sign_in_set, name="password_sign_in"),
]
