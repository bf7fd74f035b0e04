"""Settings that would be unsafe are refused when the process starts, not discovered in production."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.gateway.app import create_app
from shared.auth import SigningKeys
from shared.settings import DEV_JWT_SECRET, Settings, Webhook

pytestmark = pytest.mark.unit

GOOD_SECRET = "a-webhook-secret-of-at-least-32-chars"


def hooks(*urls: str) -> str:
    return json.dumps([{"url": url, "secrets": [GOOD_SECRET]} for url in urls])


def test_webhooks_come_from_json_each_with_its_own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PULSE_WEBHOOKS",
        json.dumps(
            [
                {"url": "https://a.example/hook", "secrets": [GOOD_SECRET]},
                {"url": "https://b.example/hook", "secrets": [GOOD_SECRET.upper(), GOOD_SECRET + "-next"]},
            ]
        ),
    )
    settings = Settings()
    assert settings.webhook_secrets("https://a.example/hook") == [GOOD_SECRET]
    assert settings.webhook_secrets("https://b.example/hook") == [GOOD_SECRET.upper(), GOOD_SECRET + "-next"]
    assert settings.webhook_secrets("https://c.example/hook") == []


def test_a_plain_http_webhook_needs_development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_DEV_MODE", raising=False)  # `make` sets it
    monkeypatch.setenv("PULSE_WEBHOOKS", hooks("https://a.example/hook", "http://b.example/hook"))
    with pytest.raises(ValidationError, match=r"https outside development mode.*b\.example"):
        Settings()
    monkeypatch.setenv("PULSE_DEV_MODE", "true")
    assert [w.url for w in Settings().webhooks] == ["https://a.example/hook", "http://b.example/hook"]


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        (["pulse-webhook-secret"], "published default"),
        (["short-secret"], "shorter than 32"),
        ([GOOD_SECRET, "x" * 31], "shorter than 32"),
        ([], "at least 1"),
    ],
)
def test_weak_or_missing_webhook_secrets_are_refused(secrets: list[str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Webhook(url="https://a.example/hook", secrets=secrets)


@pytest.mark.parametrize("url", ["ftp://a.example/x", "https:///nohost", "a.example/hook", ""])
def test_a_webhook_url_is_an_absolute_http_url(url: str) -> None:
    with pytest.raises(ValidationError, match="not an http"):
        Webhook(url=url, secrets=[GOOD_SECRET])


def test_a_webhook_listed_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_WEBHOOKS", hooks("https://a.example/hook", "https://a.example/hook"))
    with pytest.raises(ValidationError, match="listed twice"):
        Settings()


def test_smtp_is_tls_by_default_and_credentials_never_go_in_clear() -> None:
    assert Settings().smtp_tls == "starttls"
    Settings(smtp_tls="none")  # a relay on the same host, without credentials
    with pytest.raises(ValidationError, match="travel in clear"):
        Settings(smtp_tls="none", smtp_username="pulse", smtp_password="secret")
    Settings(smtp_tls="tls", smtp_username="pulse", smtp_password="secret")


def test_the_published_development_secret_only_works_in_development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_DEV_MODE", raising=False)
    monkeypatch.delenv("PULSE_JWT_SECRET", raising=False)
    assert Settings().jwt_keys() is None  # nothing to sign or verify Pulse's own tokens with
    with pytest.raises(ValidationError, match="development secret"):
        Settings(jwt_secret=DEV_JWT_SECRET)
    with pytest.raises(ValidationError, match="development secret"):
        Settings(jwt_secret="a-secret-of-our-own-0123456789abcdef", jwt_previous_secrets=[DEV_JWT_SECRET])
    keys = Settings(dev_mode=True).jwt_keys()
    assert keys is not None
    assert keys.signing == DEV_JWT_SECRET


def test_jwt_keys_sign_with_the_current_secret_and_verify_with_the_previous_ones() -> None:
    current, previous = "the-current-secret-0123456789abcdef", "the-previous-secret-0123456789abcdef"
    keys = Settings(jwt_secret=current, jwt_previous_secrets=[previous]).jwt_keys()
    assert keys is not None
    assert keys.signing == current
    assert keys.find(SigningKeys.kid_of(previous)) == previous
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(jwt_secret=current, jwt_previous_secrets=["short"])


def test_an_identity_provider_needs_its_audience() -> None:
    with pytest.raises(ValidationError, match="go together"):
        Settings(oidc_issuer="https://sso.bank.example/realms/pulse")
    Settings(oidc_issuer="https://sso.bank.example/realms/pulse", oidc_audience="pulse-gateway")


def test_the_gateway_refuses_to_start_with_no_way_to_verify_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_DEV_MODE", raising=False)
    monkeypatch.delenv("PULSE_JWT_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="no way to verify a token"):
        create_app(Settings(database_url="postgresql://x:y@127.0.0.1:1/z"))
    create_app(Settings(database_url="postgresql://x:y@127.0.0.1:1/z", dev_mode=True))
    create_app(
        Settings(
            database_url="postgresql://x:y@127.0.0.1:1/z",
            oidc_issuer="https://sso.bank.example/realms/pulse",
            oidc_audience="pulse-gateway",
        )
    )
