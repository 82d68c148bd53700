"""The Entra ID stand-in called directly: discovery, client-credentials tokens, and the bearer check."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from nodewarden.twin.azure import Identity
from nodewarden.twin.azure.identity import AuthFailure, Principal
from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response

from .conftest import CLIENT_ID, SECRET, TENANT, build_identity

BASE = "https://127.0.0.1:8443"


def _token_request(identity: Identity, **form: str) -> Response:
    fields = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": "https://management.azure.com/.default",
        **form,
    }
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return identity.handle(Request.build("POST", f"/{TENANT}/oauth2/v2.0/token", headers, body, BASE))


def _json(response: Response) -> Any:
    return json.loads(response.body)


def test_the_openid_configuration_points_back_at_the_twin(clock: Clock) -> None:
    identity = build_identity(clock)
    path = f"/{TENANT}/v2.0/.well-known/openid-configuration"
    assert identity.handles(path)
    document = _json(identity.handle(Request.build("GET", path, {}, b"", BASE)))
    assert document["token_endpoint"] == f"{BASE}/{TENANT}/oauth2/v2.0/token"
    assert document["issuer"] == f"{BASE}/{TENANT}/v2.0"
    assert {"authorization_endpoint", "device_authorization_endpoint", "tenant_region_scope"} <= set(document)


def test_a_client_credentials_grant_returns_a_bearer_token_that_arm_accepts(clock: Clock) -> None:
    identity = build_identity(clock)
    response = _token_request(identity)
    assert response.status == 200
    body = _json(response)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    principal = identity.authenticate(f"Bearer {body['access_token']}")
    assert principal == Principal(client_id=CLIENT_ID, object_id=identity.object_id, tenant_id=TENANT)


def test_a_wrong_secret_is_401_invalid_client_and_unknown_tenants_and_clients_are_refused(clock: Clock) -> None:
    identity = build_identity(clock)
    wrong = _token_request(identity, client_secret="nope")
    assert wrong.status == 401
    assert _json(wrong)["error"] == "invalid_client"
    assert _json(wrong)["error_codes"] == [7000215]
    assert _json(_token_request(identity, client_id="someone-else"))["error"] == "unauthorized_client"
    assert _json(_token_request(identity, grant_type="password"))["error"] == "unsupported_grant_type"
    other = Request.build("GET", "/other-tenant/v2.0/.well-known/openid-configuration", {}, b"", BASE)
    assert _json(identity.handle(other))["error"] == "invalid_tenant"


def test_a_token_expires_in_twin_time(clock: Clock) -> None:
    identity = build_identity(clock)
    token = identity.issue_token()
    clock.advance(seconds=3598)
    assert isinstance(identity.authenticate(f"Bearer {token}"), Principal)
    clock.advance(seconds=2)
    expired = identity.authenticate(f"Bearer {token}")
    assert isinstance(expired, AuthFailure)
    assert expired.code == "ExpiredAuthenticationToken"
    lenient = build_identity(clock, enforce_expiry=False)
    old = lenient.issue_token()
    clock.advance(minutes=600)
    assert isinstance(lenient.authenticate(f"Bearer {old}"), Principal)


def test_expire_tokens_revokes_every_token_issued_so_far_but_not_new_ones(clock: Clock) -> None:
    identity = build_identity(clock)
    old = identity.issue_token()
    identity.expire_tokens()
    assert isinstance(identity.authenticate(f"Bearer {old}"), AuthFailure)
    assert isinstance(identity.authenticate(f"Bearer {identity.issue_token()}"), Principal)


def test_tokens_from_another_identity_or_tampered_ones_are_invalid(clock: Clock) -> None:
    identity, stranger = build_identity(clock), build_identity(clock)
    foreign = identity.authenticate(f"Bearer {stranger.issue_token()}")
    assert isinstance(foreign, AuthFailure)
    assert foreign.code == "InvalidAuthenticationToken"
    head, body, signature = identity.issue_token().split(".")
    assert isinstance(identity.authenticate(f"Bearer {head}.{body}x.{signature}"), AuthFailure)
    assert isinstance(identity.authenticate("Basic dXNlcjpwYXNz"), AuthFailure)
