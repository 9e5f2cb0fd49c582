"""API authentication by personal tokens: ``Authorization: Bearer <token>``.

Failed tokens count towards the same sign-in lockout as the sign-in form (django-axes), by
the caller's address: an address locked out there is refused here too, with 429.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from customers.security import lockout_message
from customers.services import ApiTokenRefused, api_token_authenticate


class SignInLockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: the session (or nothing) decides
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as “Authorization: Bearer <token>”, the token without spaces."
            )
        django_request = request._request
        credentials = {"api_token": True}
        if settings.AXES_ENABLED and AxesProxyHandler.is_locked(django_request, credentials):
            raise SignInLockedOut(lockout_message())
        try:
            raw = header[1].decode("ascii")
            token = api_token_authenticate(raw=raw)
        except (UnicodeDecodeError, ApiTokenRefused) as refused:
            message = str(refused) if isinstance(refused, ApiTokenRefused) else "Invalid token."
            # Counted like a wrong password, by address (axes_lockout_parameters).
            user_login_failed.send(
                sender=ApiTokenAuthentication, credentials=credentials, request=django_request
            )
            raise exceptions.AuthenticationFailed(message) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
