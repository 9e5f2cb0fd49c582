"""Single sign-on through the organisation's OpenID Connect provider (Microsoft Entra ID,
Google Workspace, Okta…), built on mozilla-django-oidc.

Who may come in: the provider proves an e-mail address (``email_verified``, or the claim
``OIDC_EMAIL_VERIFIED_CLAIM`` names); it signs in the active member with that address, or,
failing that, accepts the one pending invitation for it (creating the user). Anyone else is
refused with a message on the sign-in page and nothing is created: nobody joins an
organisation without an invitation.

What the library leaves open and this module closes: the ID token's audience and issuer are
checked (the library checks neither), its expiry and issue time are required, the userinfo
answer must be about the same subject, a deactivated member stays out (also for a session
already open), and every failure talking to the provider is a refusal, not a 500.

Configured in settings (``OIDC_*``, read from the environment there); with no issuer, client
id or secret it is off: no button, and its two URLs answer 404.
"""

from __future__ import annotations

import hashlib
import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from customers.invitations import invitation_accept
from customers.models import Invitation, Membership, Organisation

logger = logging.getLogger(__name__)

# Where the invitation page leaves the invitation a single sign-on should accept, when the
# address has invitations from more than one organisation.
SESSION_INVITATION = "sso_invitation_id"

NOT_COMPLETED = "Single sign-on did not complete. Please try again."
UNAVAILABLE = (
    "Single sign-on is not available at the moment: we could not reach {provider}. "
    "Please try again later."
)
UNVERIFIED = (
    "{provider} did not confirm your e-mail address, so we cannot match you to an invitation. "
    "Ask your organisation's administrator."
)
NO_INVITATION = (
    "No invitation for this e-mail address ({email}). Ask your organisation's administrator "
    "to invite you, then sign in again."
)
DEACTIVATED = (
    "Your membership of {organisation} has been deactivated. Ask your organisation's "
    "administrator if you need to sign in again."
)
AMBIGUOUS_ACCOUNTS = (
    "More than one account has this e-mail address. Ask your organisation's administrator."
)
AMBIGUOUS_INVITATIONS = (
    "You have invitations from more than one organisation. Open the link in the invitation "
    "e-mail you mean to accept and sign in from there."
)

# The settings the provider's discovery document supplies when they are not set.
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class SingleSignOnUnavailable(Exception):
    """The provider's discovery document could not be had, or lacks an endpoint we need."""


class SignInRefused(Exception):
    """The identity is genuine but may not come in; the message says why."""


# ---------------------------------------------------------------- configuration


def sso_enabled() -> bool:
    return bool(
        settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID and settings.OIDC_RP_CLIENT_SECRET
    )


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


def sso_context(request: HttpRequest) -> dict:
    """Context processor: whether to offer single sign-on, and the provider's name for the
    button ("Sign in with Microsoft Entra ID")."""
    return {"sso_enabled": sso_enabled(), "sso_provider_name": provider_name()}


def discovery_cache_key(issuer: str) -> str:
    return "oidc-discovery:" + hashlib.sha256(issuer.encode()).hexdigest()


def provider_metadata() -> dict:
    """The provider's discovery document, cached (it changes rarely; a cache miss fetches it
    again). Its ``issuer`` must be the configured one, as OpenID Connect Discovery asks."""
    issuer = settings.OIDC_ISSUER
    key = discovery_cache_key(issuer)
    metadata = cache.get(key)
    if metadata is not None:
        return metadata
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SingleSignOnUnavailable(f"discovery document at {url}: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
        raise SingleSignOnUnavailable(f"discovery document at {url} is for another issuer")
    cache.set(key, metadata, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return metadata


def oidc_setting(attr: str, *default):
    """mozilla-django-oidc's settings, with the provider's endpoints taken from its discovery
    document when settings leave them empty."""
    if attr in _DISCOVERED and not getattr(settings, attr, ""):
        value = provider_metadata().get(_DISCOVERED[attr])
        if not value and attr != "OIDC_OP_USER_ENDPOINT":
            raise SingleSignOnUnavailable(f"the discovery document has no {_DISCOVERED[attr]}")
        return value or None
    return import_from_settings(attr, *default)


# ---------------------------------------------------------------- matching


def _true(value) -> bool:
    # Some providers send the claim as the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def pending_invitations(*, email: str):
    """Usable invitations for an address, across organisations, newest first."""
    return Invitation.objects.filter(
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at", "-pk")


def _new_username(email: str) -> str:
    User = get_user_model()
    max_length = User._meta.get_field(User.USERNAME_FIELD).max_length or 150
    base = email.lower()[:max_length]
    candidate, n = base, 1
    while User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": candidate}).exists():
        n += 1
        suffix = f"-{n}"
        candidate = base[: max_length - len(suffix)] + suffix
    return candidate


def sso_user_for_identity(
    *, email: str, first_name: str = "", last_name: str = "", invitation_id: int | None = None
) -> AbstractBaseUser:
    """The user a verified e-mail address signs in as: the active member with that address,
    else the user who accepts the pending invitation for it (created here). Raises
    SignInRefused, having written nothing, for anyone else.

    ``invitation_id`` (from the invitation page) picks one of several pending invitations."""
    memberships = list(
        Membership.objects.select_related("user", "organisation").filter(user__email__iexact=email)
    )
    active = [m for m in memberships if m.deactivated_at is None and m.user.is_active]
    if len(active) > 1:
        raise SignInRefused(AMBIGUOUS_ACCOUNTS)
    if active:
        return active[0].user
    if memberships:
        raise SignInRefused(DEACTIVATED.format(organisation=memberships[0].organisation))

    with transaction.atomic():
        # Locked so two sign-ins at once cannot both accept it (accepting checks it again).
        invitations = list(pending_invitations(email=email).select_for_update(of=("self",)))
        chosen = [i for i in invitations if i.pk == invitation_id] if invitation_id else []
        if not chosen and len({i.organisation_id for i in invitations}) > 1:
            raise SignInRefused(AMBIGUOUS_INVITATIONS)
        invitation = (chosen or invitations or [None])[0]
        if invitation is None:
            raise SignInRefused(NO_INVITATION.format(email=email))
        User = get_user_model()
        # An account in no organisation with this address joins (someone re-invited), but
        # never the site operator's: staff accounts are not handed out by e-mail.
        user = User.objects.filter(
            email__iexact=email, membership__isnull=True, is_staff=False, is_superuser=False
        ).first()
        if user is None:
            user = User.objects.create_user(
                _new_username(email), email=email, first_name=first_name, last_name=last_name
            )
        try:
            invitation_accept(invitation=invitation, user=user)
        except ValidationError as exc:
            # Raised inside the transaction: the user created above is rolled back too.
            raise SignInRefused(" ".join(exc.messages)) from exc
    return user


def password_sign_in_refusal(user: AbstractBaseUser) -> str | None:
    """Why this user may not sign in with a password, or None when they may: their
    organisation signs in through single sign-on only. Asked only after the password proved
    right, so the answer tells nothing to someone who does not know it."""
    membership = Membership.objects.select_related("organisation").filter(user=user).first()
    if membership is None or membership.organisation.password_sign_in:
        return None
    if sso_enabled():
        return f"Your organisation signs in through {provider_name()}."
    return (
        "Your organisation has switched password sign-in off, and single sign-on is not set "
        "up here. Ask your organisation's administrator."
    )


def organisation_set_password_sign_in(*, organisation: Organisation, enabled: bool) -> Organisation:
    """Switch password sign-in on or off for an organisation's members. It cannot be switched
    off while single sign-on is not configured: nobody could sign in."""
    if not enabled and not sso_enabled():
        raise ValidationError(
            "Single sign-on is not set up, so password sign-in cannot be switched off."
        )
    organisation.password_sign_in = enabled
    organisation.save(update_fields=["password_sign_in"])
    return organisation


class SignInForm(AuthenticationForm):
    """The password sign-in form, refusing members whose organisation signs in through single
    sign-on only. Asked after the password proved right (confirm_login_allowed), so whether
    an account exists is told to nobody who does not know its password."""

    password_sign_in_refused = ""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        refusal = password_sign_in_refusal(user)
        if refusal:
            self.password_sign_in_refused = refusal
            raise ValidationError(refusal, code="password_sign_in_off")


# ---------------------------------------------------------------- backend and views


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """Signs in whoever the callback's authorization code proves, matched by verified e-mail
    to a member or an invitation. Listed after django-axes and the password backend."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django builds the backends for every sign-in, password ones included: the
        # provider's endpoints are read (and discovered) only for a callback.
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        # Only the callback view calls authenticate() with a nonce; a password sign-in must
        # never make this backend exchange a code from the query string.
        if request is None or "nonce" not in kwargs or not sso_enabled():
            return None
        if kwargs.get("username") is not None or kwargs.get("password") is not None:
            return None
        try:
            super().__init__()
            return super().authenticate(request, **kwargs)
        except SignInRefused as refusal:
            request.sso_refusal = str(refusal)
        except SingleSignOnUnavailable as exc:
            logger.warning("Single sign-on unavailable: %s", exc)
            request.sso_refusal = UNAVAILABLE.format(provider=provider_name())
        except (requests.RequestException, SuspiciousOperation, jwt.PyJWTError, ValueError) as exc:
            logger.warning("Single sign-on refused: %s", exc)
            request.sso_refusal = NOT_COMPLETED
        return None

    def get_payload_data(self, token, key):
        """The ID token's claims, checked: signature and algorithm, audience (our client id),
        issuer, and expiry within a minute's clock skew (mozilla-django-oidc checks neither
        audience nor issuer itself)."""
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed from the userinfo endpoint when the provider has
        one; the signed ID token wins where both say something."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about another subject.")
        return {**userinfo, **payload}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        email = str(claims.get("email") or "").strip()
        if not email or not _true(claims.get(settings.OIDC_EMAIL_VERIFIED_CLAIM)):
            raise SignInRefused(UNVERIFIED.format(provider=provider_name()))
        invitation_id = self.request.session.get(SESSION_INVITATION)
        try:
            user = sso_user_for_identity(
                email=email,
                first_name=str(claims.get("given_name") or "")[:150],
                last_name=str(claims.get("family_name") or "")[:150],
                invitation_id=invitation_id if isinstance(invitation_id, int) else None,
            )
        except IntegrityError as exc:
            # Two first sign-ins for one invitation at once: the loser tries again.
            raise SignInRefused(NOT_COMPLETED) from exc
        self.request.session.pop(SESSION_INVITATION, None)
        return user

    def get_user(self, user_id):
        # The password backend's rule (an inactive user's session ends), which the library's
        # backend drops: a deactivated member is signed out on their next request.
        return ModelBackend.get_user(self, user_id)


class SingleSignOnStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider's authorization endpoint (state, nonce and PKCE in
    the session). 404 when single sign-on is not configured."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # The endpoint is read in get(), once we know single sign-on is on.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not sso_enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except SingleSignOnUnavailable as exc:
            logger.warning("Single sign-on unavailable: %s", exc)
            messages.error(request, UNAVAILABLE.format(provider=provider_name()))
            return HttpResponseRedirect(reverse("login"))
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class SingleSignOnCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back with a code. A refusal goes back to the
    sign-in page with the reason. 404 when single sign-on is not configured."""

    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self) -> str:
        return reverse("login")

    def login_failure(self):
        messages.error(self.request, getattr(self.request, "sso_refusal", None) or NOT_COMPLETED)
        return super().login_failure()

    def get(self, request):
        if not sso_enabled():
            raise Http404
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            # A state this browser did not start (an old tab, a forged link).
            logger.warning("Single sign-on callback refused: %s", exc)
            return self.login_failure()
