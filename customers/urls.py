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
    path("members/", views.member_list, name="member_list"),
    path("members/invite/", views.invitation_create, name="invitation_create"),
    path("members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path("members/<int:pk>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("members/<int:pk>/reactivate/", views.member_reactivate, name="member_reactivate"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="invitation_resend"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("join/<str:key>/", views.invitation_accept, name="invitation_accept"),
    path("sign-in/", sign_in.password_sign_in_set, name="password_sign_in"),
]
