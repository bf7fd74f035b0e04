"""The pages' sign-in at an OpenID Connect provider: what is sent and what is kept (no I/O here; the flow
itself runs against a real Keycloak in tests/integration/test_oidc.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from services.gateway.pages.oidc import Flow, authorization_url

pytestmark = pytest.mark.unit


def test_the_code_challenge_is_rfc_7636s_published_example() -> None:
    # RFC 7636, Appendix B: this verifier's S256 challenge.
    flow = Flow(state="s", verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", next_url="/")
    assert flow.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_each_flow_has_its_own_state_and_a_verifier_of_the_length_pkce_asks() -> None:
    one, two = Flow.start("/loans"), Flow.start("/loans")
    assert one.state != two.state
    assert one.verifier != two.verifier
    assert 43 <= len(one.verifier) <= 128  # RFC 7636 §4.1


def test_the_flow_survives_its_cookie_and_a_foreign_next_never_does() -> None:
    flow = Flow.start("/wealth?client=WM-0001")
    assert Flow.from_cookie(flow.cookie()) == flow
    assert Flow.start("https://elsewhere.example/").next_url == "/"
    assert Flow.start("//elsewhere.example/x").next_url == "/"
    assert Flow.from_cookie("not base64 json") is None
    assert Flow.from_cookie(None) is None


def test_the_authorization_request_carries_the_state_and_the_challenge_not_the_verifier() -> None:
    flow = Flow(state="st", verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", next_url="/")
    url = authorization_url("https://idp.example/auth", "pulse-dashboard", "https://pulse.example/cb", "openid", flow)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "idp.example", "/auth")
    assert query == {
        "response_type": "code",
        "client_id": "pulse-dashboard",
        "redirect_uri": "https://pulse.example/cb",
        "scope": "openid",
        "state": "st",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    assert flow.verifier not in url
    assert "&" in authorization_url("https://idp.example/auth?kc_idp_hint=x", "c", "r", "openid", flow).split("?", 1)[1]
