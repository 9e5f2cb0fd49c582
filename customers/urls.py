from django.urls import path

from customers import views
from customers.views import sign_in

app_name = "customers"

urlpatterns = [
    path("cohorts/", views.cohort_list, name="cohort_list"),
    path("cohorts/<int:pk>/edit/", views.cohort_edit, name="cohort_edit"),
    path("sign-in/", sign_in.password_sign_in_set, name="password_sign_in"),
]
