"""Production: HTTPS, a real secret key, PostgreSQL and Redis from the environment."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import HTTPS_ONLY, SECRET_KEY, TRUST_X_FORWARDED_PROTO

if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY in the environment for production.")

DEBUG = False
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
# Whether a request came over HTTPS is gunicorn's to say: it believes X-Forwarded-Proto only
# from FORWARDED_ALLOW_IPS (config/gunicorn.conf.py) and sets the request's scheme. Django
# itself would believe the header from any client.
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
