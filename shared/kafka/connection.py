"""How every Pulse Kafka client connects, from the settings: the one client configuration of the producers,
the consumers (FastStream's and our own), the admin clients and the `pulse` command.

`PULSE_KAFKA_SECURITY_PROTOCOL` is PLAINTEXT (the local try-out), SSL, SASL_PLAINTEXT or SASL_SSL; SASL is
SCRAM-SHA-256/512 or PLAIN with a username and password, or OAUTHBEARER with tokens of an OAuth client
(client credentials at `PULSE_KAFKA_OAUTH_TOKEN_URL`); TLS checks the brokers against
`PULSE_KAFKA_SSL_CA_FILE` (else the system's CAs) and may present a client certificate.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from aiokafka.abc import AbstractTokenProvider
from faststream.security import BaseSecurity, SASLOAuthBearer, SASLPlaintext, SASLScram256, SASLScram512

if TYPE_CHECKING:
    from shared.settings import Settings


class ClientCredentialsTokens(AbstractTokenProvider):  # type: ignore[misc]
    """OAUTHBEARER tokens of an OAuth client (the client-credentials grant), each kept until shortly before it
    expires."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str | None = None) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                form = {"grant_type": "client_credentials", "client_id": self.client_id}
                form |= {"client_secret": self.client_secret} | ({"scope": self.scope} if self.scope else {})
                async with httpx.AsyncClient(timeout=10.0) as http:
                    response = await http.post(self.token_url, data=form)
                response.raise_for_status()
                body = response.json()
                self._token = str(body["access_token"])
                self._renew_at = time.monotonic() + max(float(body.get("expires_in", 60)) - 30, 5)
            return self._token


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_scope: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            ca_file=settings.kafka_ssl_ca_file,
            cert_file=settings.kafka_ssl_cert_file,
            key_file=settings.kafka_ssl_key_file,
            oauth_token_url=settings.kafka_oauth_token_url,
            oauth_client_id=settings.kafka_oauth_client_id,
            oauth_client_secret=settings.kafka_oauth_client_secret,
            oauth_scope=settings.kafka_oauth_scope,
        )

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def token_provider(self) -> ClientCredentialsTokens | None:
        if self.sasl_mechanism != "OAUTHBEARER":
            return None
        if not (self.oauth_token_url and self.oauth_client_id and self.oauth_client_secret):
            raise ValueError("OAUTHBEARER needs a token URL, a client id and a client secret")
        return ClientCredentialsTokens(
            self.oauth_token_url, self.oauth_client_id, self.oauth_client_secret, self.oauth_scope
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments for an aiokafka producer, consumer or admin client."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism
            if self.sasl_mechanism == "OAUTHBEARER":
                options["sasl_oauth_token_provider"] = self.token_provider()
            else:
                options["sasl_plain_username"] = self.username
                options["sasl_plain_password"] = self.password
        return options

    def faststream(self) -> dict[str, Any]:
        """Keyword arguments for FastStream's `KafkaBroker` (beside the bootstrap servers)."""
        context = self.ssl_context()
        use_ssl = self.uses_tls
        security: BaseSecurity | None
        if not self.security_protocol.startswith("SASL_"):
            security = BaseSecurity(ssl_context=context, use_ssl=use_ssl) if use_ssl else None
        elif self.sasl_mechanism == "OAUTHBEARER":
            security = SASLOAuthBearer(ssl_context=context, use_ssl=use_ssl)
            return {"security": security, "sasl_oauth_token_provider": self.token_provider()}
        else:
            kind = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512, "PLAIN": SASLPlaintext}
            security = kind[self.sasl_mechanism or ""](
                str(self.username), str(self.password), ssl_context=context, use_ssl=use_ssl
            )
        return {"security": security} if security is not None else {}
