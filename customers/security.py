"""Sign-in protections that settings point at: how django-axes counts failures and finds
the caller's address, and the page a locked-out person sees."""

from __future__ import annotations

import ipaddress

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def axes_lockout_parameters(request: HttpRequest, credentials: dict | None) -> list:
    """Count failures per address and per username, each on its own: five wrong passwords
    for one person lock that person out from anywhere, and five failures from one address
    lock that address out for everyone. A failed API token has no username: it counts by
    address only (a username of None would otherwise lump every token failure together)."""
    if (credentials or {}).get("username"):
        return ["ip_address", "username"]
    return ["ip_address"]


def _is_trusted_proxy(address: str) -> bool:
    trusted = settings.FORWARDED_ALLOW_IPS
    if "*" in trusted:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in trusted:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip_address(request: HttpRequest) -> str:
    """The address failures are counted against. ``X-Forwarded-For`` is believed only when
    the request came from a trusted proxy (``FORWARDED_ALLOW_IPS``, the same list gunicorn
    trusts for ``X-Forwarded-Proto``); then the nearest address that is not a trusted proxy
    is the client. Anyone else could write any address there to escape the lockout."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed([part for part in forwarded if part]):
        if not _is_trusted_proxy(address):
            return address
    return remote


def axes_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username failures are counted against. Django's sign-in form lets any length
    through to authenticate(); no account has a name longer than the user model allows, and
    django-axes stores at most 255 characters, so longer input is cut (a 500 otherwise)."""
    if credentials:
        username = credentials.get("username")
    else:
        username = request.POST.get("username") if request.method == "POST" else None
    if username is None:
        return None
    max_length = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length
    return str(username)[: max_length or 150]


def cool_off_minutes() -> int | None:
    cool_off = get_cool_off()
    return int(cool_off.total_seconds() // 60) if cool_off else None


def lockout_message() -> str:
    minutes = cool_off_minutes()
    if minutes:
        wait = f"Wait {minutes} minutes, then try again."
    else:
        wait = "Ask your organisation's administrator to unlock it."
    return f"Too many failed sign-in attempts for this account or from this address. {wait}"


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """What django-axes answers a locked-out sign-in with, 429 Too Many Requests: our sign-in
    page saying why and for how long, or for the API the same words as JSON."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.namespace == "api":
        return JsonResponse({"detail": lockout_message()}, status=429)
    return render(
        request,
        "registration/locked_out.html",
        {"lockout_message": lockout_message(), "cool_off_minutes": cool_off_minutes()},
        status=429,
    )
