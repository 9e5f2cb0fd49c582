"""Tests: the database and Redis come from the environment (CI sets PostgreSQL and Redis)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import STORAGES

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests render templates without running collectstatic first.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True  # static files straight from the app folders, as in development
CELERY_TASK_ALWAYS_EAGER = False  # tests run task functions directly and capture on_commit
