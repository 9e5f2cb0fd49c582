"""Production settings for the load benchmark, with one change: static file URLs are not
looked up in collectstatic's manifest. The load test requests pages, not static files, and
collectstatic (hashing and compressing every vendor file) would take longer than the quick
run itself; a manifest lookup is a dictionary read, so the figures are unchanged."""

from config.settings.production import *  # noqa: F403
from config.settings.production import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
