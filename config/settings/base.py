"""Settings shared by every environment.

All environment access lives in this module: the other settings modules only adjust
what is read here. See the README's configuration table.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp import constants as csp

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = _env_bool("DEBUG", False)
# A development key is used only when DEBUG is on; production.py refuses to start without one.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")
# Production redirects to HTTPS and sends cookies over HTTPS only, unless told otherwise
# (docker-compose on a laptop serves plain HTTP on localhost).
HTTPS_ONLY = _env_bool("SECURE_SSL_REDIRECT", True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "benefit-backlog@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10  # a slow mail relay must not hold a worker for long
# The site's address as people reach it (https://backlog.example.gov.uk), for the links in
# e-mails sent where there is no request to read it from (beat tasks, create_organisation).
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (no CDN)
    "axes",
    "csp",
    # History: PostgreSQL triggers record every tracked change (see customers/history.py).
    "pgtrigger",
    "pghistory",
    "customers",
    "backlog",
    "prioritisation",
    "outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session is read or any view runs: PostgreSQL cannot take a NUL.
    "config.http.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication, so the history context knows who is acting.
    "customers.history.HistoryMiddleware",
    "customers.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: it tells the person why their session ended.
    "customers.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Marks a write request (not GET/HEAD/OPTIONS): archived products refuse it (403).
    "backlog.permissions.WriteRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.context_processors.organisation",
                "customers.sso.sso_context",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool keeps connections warm between requests; health checks drop a
    # connection the server closed instead of failing the next request on it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": 10,
        "timeout": 10,
    }
else:
    # SQLite waits for a writer instead of failing at once when two requests collide.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes checks lockouts before Django checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes): SIGN_IN_FAILURE_LIMIT failures for one username, or from
# one address, lock that username or address out for SIGN_IN_LOCKOUT_MINUTES. Failed API
# tokens count by address. Attempts during a lockout do not prolong it.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = int(os.environ.get("SIGN_IN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("SIGN_IN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = "customers.security.axes_lockout_parameters"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A sign-in does not wipe the count: someone with one account could otherwise clear the
# failures recorded against their address between guesses at another person's password.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "customers.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "customers.security.client_ip_address"
AXES_USERNAME_CALLABLE = "customers.security.axes_username"
# The proxies allowed to say who the client is (X-Forwarded-For) and whether it came over
# HTTPS (X-Forwarded-Proto): gunicorn reads the same variable (config/gunicorn.conf.py).
FORWARDED_ALLOW_IPS = _env_list("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Only for a server other than gunicorn that cannot check the proxy itself: believe
# X-Forwarded-Proto from anyone. Safe only where nothing but the proxy can reach the app.
TRUST_X_FORWARDED_PROTO = _env_bool("TRUST_X_FORWARDED_PROTO", False)

# Single sign-on (OpenID Connect, mozilla-django-oidc; customers/sso.py). Off unless the
# issuer, client id and secret are all set. The provider's endpoints come from its discovery
# document (<issuer>/.well-known/openid-configuration, fetched when someone signs in, cached
# for an hour) unless given here. The redirect URI to register with the provider is
# https://<host>/accounts/oidc/callback/.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "") or "single sign-on"
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_USERINFO_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_JWKS_URI", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGORITHM", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
# The claim that says the provider verified the e-mail address. Microsoft Entra ID sends none
# by default: add its optional claim xms_edov and set this to "xms_edov".
OIDC_EMAIL_VERIFIED_CLAIM = os.environ.get("OIDC_EMAIL_VERIFIED_CLAIM", "email_verified")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10  # seconds for each call to the provider: a slow one must not hold a worker
OIDC_DISCOVERY_CACHE_SECONDS = 3600
OIDC_CLOCK_SKEW_SECONDS = 60  # leeway for the ID token's exp/iat against our clock
# The library's own session refresh and token storage are not used: our session rules apply.
OIDC_STORE_ACCESS_TOKEN = False
OIDC_STORE_ID_TOKEN = False
# The provider sends the browser back with a top-level GET from its own site: the session
# cookie (holding the sign-in's state, nonce and PKCE verifier) must stay SameSite=Lax, not
# Strict, or the callback never finds them.
SESSION_COOKIE_SAMESITE = "Lax"
# After django-axes and the password backend: a password sign-in never reaches it, and the
# callback's authenticate() passes django-axes' lockout check first like any sign-in.
AUTHENTICATION_BACKENDS.append("customers.sso.SingleSignOnBackend")

# Sessions end after 30 minutes idle (renewed once a minute while active) and 12 hours after
# sign-in however active (customers.middleware.SessionLifetimeMiddleware).
SESSION_COOKIE_AGE = 30 * 60
SESSION_ABSOLUTE_AGE = 12 * 60 * 60

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "backlog:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files browsers ask for at the site root (/favicon.ico, /apple-touch-icon.png), served by
# WhiteNoise before any view runs.
WHITENOISE_ROOT = BASE_DIR / "public"
# Third-party browser libraries come from npm (package.json) and are served from here.
if (BASE_DIR / "node_modules").is_dir():
    STATICFILES_DIRS.append(("vendor", BASE_DIR / "node_modules"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

if REDIS_URL:
    CACHES = {
        "default": {
            # Only a cache: a Redis error is a miss, and after one failure Redis is skipped
            # for a while (outbox.breaker), so a hung Redis costs a request one short wait.
            "BACKEND": "outbox.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis as broker and result backend when configured; otherwise tasks run
# in-process so the app works with no services at all.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
# Requests never call the broker directly: tasks go through the outbox (outbox.services),
# which sends after commit with its own one-second, one-try timeouts and leaves anything
# unsent to the sweep. Workers and beat outlive a Redis outage: they retry the connection
# forever, backing off from 2 s to 30 s between tries (kombu's defaults).
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 10,
    "socket_connect_timeout": 3,
    # A task unacknowledged this long (its worker died mid-task) is delivered again: longer
    # than CELERY_TASK_TIME_LIMIT, so a task still running is never handed out twice.
    "visibility_timeout": 3600,
    # Ping an idle connection, so a Redis that went away is noticed and reconnected to.
    "health_check_interval": 25,
}
# A worker that loses Redis mid-task stops the task (acks late: it is delivered again)
# rather than finish it and fail to acknowledge it.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_REDIS_SOCKET_TIMEOUT = 3
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_BEAT_SCHEDULE: dict = {
    # Sends the outbox rows that could not be sent after their commit (Redis was down).
    "send-outbox": {
        "task": "outbox.tasks.outbox_sweep",
        "schedule": 60.0,
    },
    "close-due-voting-rounds": {
        "task": "prioritisation.tasks.close_due_rounds",
        "schedule": 60.0,
    },
    # Hourly, so each organisation's own midnight (any time zone) is picked up within the
    # hour; the task only creates a session on the product's weekday, once per week.
    "create-due-show-and-tells": {
        "task": "backlog.tasks.create_due_show_and_tells",
        "schedule": 3600.0,
    },
    # E-mails, each sent once (customers.NotificationSent): rounds that opened or close
    # within 24 hours, and done items waiting for go-live signatures.
    "notify-rounds": {
        "task": "prioritisation.tasks.notify_rounds_due",
        "schedule": 15 * 60.0,
    },
    "notify-go-live": {
        "task": "backlog.tasks.notify_go_live_due",
        "schedule": 15 * 60.0,
    },
}

# History (django-pghistory): event tables refuse UPDATE and DELETE, so no code path, the
# Django admin included, can rewrite what happened.
PGHISTORY_APPEND_ONLY = True
# Only requests that change things carry the history context: on a GET it would prefix every
# read query with the context statement, on the path every page waits on.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Each event's own time, not its transaction's: the audit log orders the writes of one
# request correctly across tables.
PGHISTORY_CREATED_AT_FUNCTION = "clock_timestamp()"

REST_FRAMEWORK = {
    # Personal tokens first: DRF answers 401 with the first class's WWW-Authenticate
    # challenge. The session serves the browser (with CSRF checks).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "customers.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Refuses JSON nested too deep, NUL and lone surrogates with 400 (config/rest.py).
    "DEFAULT_PARSER_CLASSES": ["config.rest.JSONParser"],
    # Pages by cursor (keyset), limit capped; a bad limit or cursor is a 400 (config/rest.py).
    "DEFAULT_PAGINATION_CLASS": "config.rest.CursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Benefit Backlog API",
    "DESCRIPTION": "Product backlogs ranked by benefit.",
    "VERSION": "1",
    # The interactive docs load Swagger UI from the drf-spectacular-sidecar package.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Every operation may answer 400 (config/rest.py).
        "config.rest.document_bad_request",
    ],
}

# Secure by default; production.py adds HTTPS-only settings.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own origin; no
# inline script without this response's nonce, no eval (htmx's hx-on/js: values are not
# used, and base.html sets htmx's allowEval off). Style attributes stay allowed: bar widths
# and heat-map shades are data, set server-side, and cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "style-src-attr": [csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# On SQLite (the embedded default) Django skips the deferrable unique constraint on items'
# rank keys, for which backlog migration 0008 creates a plain unique index instead, and
# ignores the open-items index's included columns, which only save PostgreSQL a heap read.
SILENCED_SYSTEM_CHECKS = ["models.W038", "models.W040"]
