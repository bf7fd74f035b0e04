"""One Kafka client configuration from the settings: what each security protocol gives aiokafka and FastStream,
and the incomplete or unsafe ones refused at start-up."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from faststream.kafka.security import parse_security
from pydantic import ValidationError

from shared.kafka.connection import ClientCredentialsTokens, KafkaConnection
from shared.settings import Settings

pytestmark = pytest.mark.unit

SCRAM: dict[str, Any] = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "pulse-snapshotter",
    "kafka_sasl_password": "a-password",
}


def test_plaintext_is_only_the_bootstrap_servers() -> None:
    kafka = Settings(kafka_bootstrap_servers="broker:9092").kafka()
    assert kafka.options() == {"bootstrap_servers": "broker:9092", "security_protocol": "PLAINTEXT"}
    assert kafka.faststream() == {}


def test_sasl_ssl_with_scram_gives_aiokafka_and_faststream_the_same_client() -> None:
    kafka = Settings(**SCRAM).kafka()
    options = kafka.options()
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    assert options == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "pulse-snapshotter",
        "sasl_plain_password": "a-password",
    }
    through_faststream = parse_security(kafka.faststream()["security"])
    assert isinstance(through_faststream.pop("ssl_context"), ssl.SSLContext)
    assert through_faststream == {k: v for k, v in options.items() if k != "bootstrap_servers"}


def test_tls_checks_the_brokers_certificate_and_name() -> None:
    context = KafkaConnection("b:9093", "SSL").ssl_context()
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert KafkaConnection("b:9092").ssl_context() is None


def test_oauthbearer_gets_tokens_of_an_oauth_client() -> None:
    kafka = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_oauth_token_url="https://sso.bank.example/realms/pulse/protocol/openid-connect/token",
        kafka_oauth_client_id="pulse-snapshotter",
        kafka_oauth_client_secret="s3cret",
    ).kafka()
    options = kafka.options()
    assert options["sasl_mechanism"] == "OAUTHBEARER"
    assert isinstance(options["sasl_oauth_token_provider"], ClientCredentialsTokens)
    assert "sasl_plain_password" not in options
    assert isinstance(kafka.faststream()["sasl_oauth_token_provider"], ClientCredentialsTokens)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs PULSE_KAFKA_SASL_MECHANISM"),
        ({**SCRAM, "kafka_sasl_password": None}, "needs PULSE_KAFKA_SASL_USERNAME and PULSE_KAFKA_SASL_PASSWORD"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER"}, "OAUTHBEARER needs"),
        ({**SCRAM, "kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN"}, "in clear"),
    ],
)
def test_incomplete_or_unsafe_kafka_security_is_refused(
    settings: dict[str, object], problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULSE_DEV_MODE", raising=False)
    with pytest.raises(ValidationError, match=problem):
        Settings(**settings)  # type: ignore[arg-type]
