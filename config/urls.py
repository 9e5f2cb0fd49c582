from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from customers.sso import SignInForm, SingleSignOnCallbackView, SingleSignOnStartView

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Single sign-on (customers/sso.py): 404 unless configured. The names are the ones
    # mozilla-django-oidc reverses.
    path(
        "accounts/oidc/authenticate/",
        SingleSignOnStartView.as_view(),
        name="oidc_authentication_init",
    ),
    path(
        "accounts/oidc/callback/",
        SingleSignOnCallbackView.as_view(),
        name="oidc_authentication_callback",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("customers.account_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves its start-up script as a file of its own, so the page needs no
    # inline script under the Content-Security-Policy.
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", template_name="api/docs.html"),
        name="api_docs",
    ),
    path("api/v1/", include("config.api_urls")),
    path("organisation/", include("customers.urls")),
    path("", include("prioritisation.urls")),
    path("", include("backlog.urls")),
]
