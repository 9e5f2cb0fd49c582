"""Session lifetime and caching rules for signed-in people."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

# Where the sign-in time and the last renewal live in the session (seconds since the epoch).
SIGNED_IN_AT = "signed_in_at"
RENEWED_AT = "renewed_at"
# The idle limit is renewed at most once a minute: saving the session on every request
# (SESSION_SAVE_EVERY_REQUEST) would add a database write to every page and API call.
RENEW_EVERY = 60


def record_sign_in_time(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in`` receiver: both session limits count from here."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[RENEWED_AT] = now


class SessionLifetimeMiddleware:
    """Two limits on a signed-in session.

    Idle: the session (database row and cookie) lasts ``SESSION_COOKIE_AGE`` seconds from
    its last save; saving it again at most once a minute while the person is active makes
    that an idle limit, exact to the minute. Absolute: ``SESSION_ABSOLUTE_AGE`` seconds
    after sign-in the session ends however active it was. After that logout the request goes
    on as anonymous: pages send the person to sign in, the API answers 401."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            now = int(time.time())
            if not isinstance(signed_in_at, int):
                # A session from before this rule: its limit counts from now.
                request.session[SIGNED_IN_AT] = now
            elif now - signed_in_at >= settings.SESSION_ABSOLUTE_AGE:
                logout(request)
                messages.info(request, "Your session has ended. Please sign in again.")
                return self.get_response(request)
            renewed_at = request.session.get(RENEWED_AT)
            if not isinstance(renewed_at, int) or now - renewed_at >= RENEW_EVERY:
                request.session[RENEWED_AT] = now  # marks the session modified: saved anew
        return self.get_response(request)


class NoStoreForSignedInMiddleware:
    """``Cache-Control: no-store`` on whatever is served to a signed-in person or to a
    request with credentials, so no shared or browser cache keeps their data (the back
    button after signing out on a shared computer). A view that sets its own
    ``Cache-Control`` keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Read after the view: DRF sets request.user for a token only while it handles it.
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if (signed_in or "HTTP_AUTHORIZATION" in request.META) and not response.has_header(
            "Cache-Control"
        ):
            response["Cache-Control"] = "no-store"
        return response
