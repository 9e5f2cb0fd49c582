"""A small OpenID Connect provider on 127.0.0.1, run in a thread by the single sign-on tests.

It serves what a real one does for the authorization code flow: the discovery document, the
JWKS, an authorization endpoint that signs in ``provider.identity`` at once and sends the
browser back with a code, a token endpoint that checks the client, the redirect URI and the
PKCE verifier and returns an RS256-signed ID token (PyJWT, a fresh RSA key per provider),
and a userinfo endpoint. Knobs on the provider make it misbehave the way the tests need
(``audience``, ``expires_in``, ``issuer_in_token``, ``sign_with_other_key``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "benefit-backlog"
CLIENT_SECRET = "s3cret-for-tests"  # noqa: S105


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    """The provider's state. ``identity`` is who signs in next (claims merged into the ID
    token and the userinfo answer)."""

    identity: dict = field(default_factory=dict)
    audience: str = CLIENT_ID
    expires_in: int = 300
    issuer_in_token: str | None = None
    sign_with_other_key: bool = False
    with_userinfo: bool = True
    userinfo_sub: str | None = None  # a userinfo answer about someone else
    key: rsa.RSAPrivateKey = field(default_factory=_new_key)
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    codes: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def discovery(self) -> dict:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.with_userinfo:
            document["userinfo_endpoint"] = f"{self.issuer}/userinfo"
        return document

    def jwks(self) -> dict:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def id_token(self, *, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer_in_token or self.issuer,
            "sub": self.identity.get("sub", "subject-1"),
            "aud": self.audience,
            "iat": now,
            "exp": now + self.expires_in,
            **({"nonce": nonce} if nonce else {}),
            **self.identity,
        }
        key = _new_key() if self.sign_with_other_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    # ------------------------------------------------------------ endpoints

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "client_id": query.get("client_id"),
            "redirect_uri": query.get("redirect_uri"),
            "nonce": query.get("nonce"),
            "code_challenge": query.get("code_challenge"),
        }
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": back}, b""

    def token(self, form: dict) -> tuple[int, dict, bytes]:
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge != grant["code_challenge"]
        ):
            return _json(400, {"error": "invalid_grant"})
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = dict(self.identity)
        return _json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(nonce=grant["nonce"]),
            },
        )

    def userinfo(self, authorization: str) -> tuple[int, dict, bytes]:
        identity = self.tokens.get(authorization.removeprefix("Bearer "))
        if identity is None:
            return _json(401, {"error": "invalid_token"})
        sub = self.userinfo_sub or identity.get("sub", "subject-1")
        return _json(200, {**identity, "sub": sub})


def _json(status: int, body: dict) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, answer: tuple[int, dict, bytes]) -> None:
            status, headers, body = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            url = urlsplit(self.path)
            provider.calls.append(("GET", url.path))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(_json(200, provider.discovery()))
            elif url.path == "/jwks":
                self._send(_json(200, provider.jwks()))
            elif url.path == "/authorize":
                self._send(provider.authorize(query))
            elif url.path == "/userinfo":
                self._send(provider.userinfo(self.headers.get("Authorization", "")))
            else:
                self._send(_json(404, {"error": "not_found"}))

        def do_POST(self):  # noqa: N802
            url = urlsplit(self.path)
            provider.calls.append(("POST", url.path))
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if url.path == "/token":
                self._send(provider.token(form))
            else:
                self._send(_json(404, {"error": "not_found"}))

        def log_message(self, format, *args):  # quiet test output
            pass

    return Handler


def start_provider() -> Provider:
    """Start a provider on a free port of 127.0.0.1; ``stop_provider`` ends it."""
    provider = Provider()
    provider.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    threading.Thread(target=provider.server.serve_forever, daemon=True).start()
    return provider


def stop_provider(provider: Provider) -> None:
    provider.server.shutdown()
    provider.server.server_close()
