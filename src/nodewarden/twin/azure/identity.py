"""A Microsoft Entra ID stand-in: the token endpoint azure-identity's `ClientSecretCredential` talks to,
and the bearer-token check ARM requests must pass.

`ClientSecretCredential(tenant, client_id, secret, authority="127.0.0.1:PORT",
disable_instance_discovery=True, connection_verify=ca)` asks for
`GET /{tenant}/v2.0/.well-known/openid-configuration`, then `POST /{tenant}/oauth2/v2.0/token` with a
client_credentials grant (MSAL's confidential client). Tokens are HMAC-signed JWTs whose `exp` is twin time.

Virtual time and token lifetimes do not mix well: the SDK caches a token for `expires_in` *real*
seconds, while the twin judges `exp` in *twin* seconds. With a fast or manually advanced clock a
cached token can expire in twin time long before the SDK renews it. `enforce_expiry=False` (or a
longer `token_lifetime`) keeps long runs working; `expire_tokens()` forces the expiry path on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response

_PATH = re.compile(r"^/(?P<tenant>[^/]+)/(?P<what>v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)/?$")
ARM_AUDIENCE = "https://management.azure.com/"


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to."""

    client_id: str
    object_id: str
    tenant_id: str


@dataclass(frozen=True)
class AuthFailure:
    """Why a bearer token was refused: the ARM error code and the WWW-Authenticate description."""

    code: str
    message: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Identity:
    """One tenant with one service principal (client id + secret)."""

    def __init__(
        self,
        clock: Clock,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        object_id: str | None = None,
        token_lifetime: int = 3599,
        enforce_expiry: bool = True,
    ) -> None:
        self.clock = clock
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.object_id = object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{client_id}"))
        self.token_lifetime = token_lifetime
        self.enforce_expiry = enforce_expiry
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._issued: set[str] = set()
        self._revoked: set[str] = set()

    def handles(self, path: str) -> bool:
        return _PATH.match(path) is not None

    def handle(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        if match is None:
            return Response.json(404, {"error": "not_found", "error_description": f"No such endpoint: {request.path}"})
        if match["tenant"].lower() != self.tenant_id.lower():
            return self._error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{match['tenant']}' not found. Check to make sure you have the correct tenant ID.",
            )
        if match["what"].startswith("v2.0"):
            return self._openid_configuration(request.base_url)
        if request.method != "POST":
            return self._error(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
        return self._token(request)

    def _openid_configuration(self, base_url: str) -> Response:
        tenant = f"{base_url}/{self.tenant_id}"
        return Response.json(
            200,
            {
                "token_endpoint": f"{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{tenant}/oauth2/v2.0/devicecode",
                "issuer": f"{tenant}/v2.0",
                "jwks_uri": f"{tenant}/discovery/v2.0/keys",
                "tenant_region_scope": "WW",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            },
        )

    def _token(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type')}'.",
            )
        if form.get("client_id") != self.client_id:
            return self._error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the directory "
                f"'{self.tenant_id}'.",
            )
        if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
            return self._error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{self.client_id}'.",
            )
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": self.issue_token(),
            },
            {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    def _error(self, status: int, error: str, code: int, description: str) -> Response:
        now = self.clock.now()
        trace, stamp = str(uuid.uuid4()), f"{now:%Y-%m-%d %H:%M:%SZ}"
        return Response.json(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Timestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": str(uuid.uuid4()),
                "error_uri": f"https://login.microsoftonline.com/error?code={code}",
            },
        )

    def issue_token(self) -> str:
        """A signed access token for ARM, valid for `token_lifetime` twin seconds."""
        issued = int(self.clock.now().timestamp())
        token_id = str(uuid.uuid4())
        with self._lock:
            self._issued.add(token_id)
        claims = {
            "aud": ARM_AUDIENCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.token_lifetime,
            "appid": self.client_id,
            "oid": self.object_id,
            "sub": self.object_id,
            "tid": self.tenant_id,
            "idtyp": "app",
            "ver": "1.0",
            "jti": token_id,
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        return f"{head}.{body}.{self._sign(f'{head}.{body}')}"

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as if it had expired): clients must fetch new ones."""
        with self._lock:
            self._revoked |= self._issued
            self._issued = set()

    def authenticate(self, authorization: str | None) -> Principal | AuthFailure:
        """Check an `Authorization` header as ARM does."""
        if not authorization:
            return AuthFailure("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return AuthFailure(
                "AuthenticationFailed", "Authentication failed. The 'Authorization' header is not Bearer."
            )
        claims = self._verify(token.strip())
        if claims is None:
            return AuthFailure("InvalidAuthenticationToken", "The access token is invalid.")
        now = self.clock.now().timestamp()
        with self._lock:
            revoked = claims.get("jti") in self._revoked
        if revoked or (self.enforce_expiry and claims.get("exp", 0) <= now):
            expired_at = datetime.fromtimestamp(claims.get("exp", 0), self.clock.now().tzinfo)
            return AuthFailure(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired_at:%m/%d/%Y %I:%M:%S %p}' is earlier than current "
                f"UTC time '{self.clock.now():%m/%d/%Y %I:%M:%S %p}'.",
            )
        return Principal(client_id=str(claims["appid"]), object_id=str(claims["oid"]), tenant_id=str(claims["tid"]))

    def _verify(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not isinstance(claims, dict) or claims.get("tid") != self.tenant_id:
            return None
        return claims

    def challenge(self, failure: AuthFailure) -> str:
        """The WWW-Authenticate header ARM sends with a 401."""
        return (
            f'Bearer authorization_uri="https://login.microsoftonline.com/{self.tenant_id}", '
            f'error="invalid_token", error_description="{failure.message}"'
        )
