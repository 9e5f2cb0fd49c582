"""The signed-in person's own account: profile and personal API tokens (under accounts/)."""

from django.urls import path

from customers import views
from customers.views.profile import password_change, profile_details, profile_notifications

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/details/", profile_details, name="profile_details"),
    path("profile/notifications/", profile_notifications, name="profile_notifications"),
    path("profile/password/", password_change, name="password_change"),
    path("profile/tokens/", views.api_token_create, name="api_token_create"),
    path("profile/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
