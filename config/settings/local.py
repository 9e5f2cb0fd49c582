"""Development: the embedded default (SQLite, in-process tasks) with DEBUG on."""

from config.settings.base import *  # noqa: F403
from config.settings.base import SECRET_KEY

DEBUG = True
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"
