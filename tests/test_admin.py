"""Every model is in the Django admin, and its list page renders for a superuser."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = ("customers", "backlog", "prioritisation", "outbox")


def test_every_model_of_our_apps_is_registered_in_the_admin():
    missing = [
        model.__name__
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry and not model._meta.auto_created
    ]
    assert missing == []


def test_every_admin_list_page_renders(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            if model in admin.site._registry:
                url = reverse(f"admin:{app}_{model._meta.model_name}_changelist")
                assert client.get(url).status_code == 200, url
