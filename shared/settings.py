"""Configuration from the environment (and an optional `.env`), shared by every process.

The contract fixes a few variable names (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`, `PULSE_JWT_SECRET`,
`PULSE_TOPIC_PREFIX`); everything else is `PULSE_<FIELD>`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import SigningKeys, TokenRules
from shared.events.bounds import EventBounds
from shared.kafka.connection import KafkaConnection

# Published here, so only ever used in development mode (PULSE_DEV_MODE), and refused outside it.
DEV_JWT_SECRET = "pulse-dev-secret-change-me-0123456789abcdef"  # noqa: S105


# Webhook secrets: at least this long, and never one that was published as a default.
MIN_WEBHOOK_SECRET_LENGTH = 32
PUBLISHED_WEBHOOK_SECRETS = frozenset({"pulse-webhook-secret"})


class Webhook(BaseModel):
    """A receiver of alert webhooks and the secrets that sign what it is sent (two while one is rotated)."""

    url: str
    secrets: list[str] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url.strip()

    @field_validator("secrets")
    @classmethod
    def _strong_secrets(cls, secrets: list[str]) -> list[str]:
        for secret in secrets:
            if secret in PUBLISHED_WEBHOOK_SECRETS:
                raise ValueError("a webhook secret is a published default: choose your own")
            if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
                raise ValueError(f"a webhook secret is shorter than {MIN_WEBHOOK_SECRET_LENGTH} characters")
        return secrets


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "PULSE_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # How the clients reach the brokers (shared.kafka.connection).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN", "OAUTHBEARER"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_ca_file: str | None = None
    kafka_ssl_cert_file: str | None = None
    kafka_ssl_key_file: str | None = None
    kafka_oauth_token_url: str | None = None
    kafka_oauth_client_id: str | None = None
    kafka_oauth_client_secret: str | None = None
    kafka_oauth_scope: str | None = None
    database_url: str = Field(
        "postgresql://pulse:pulse@127.0.0.1:5433/pulse",
        validation_alias=AliasChoices("DATABASE_URL", "PULSE_DATABASE_URL"),
    )
    # The login that owns the service's schema (shared.db_roles), for its migrations only; without it the
    # migrations run with DATABASE_URL's login (one login for everything, as on a bare development database).
    migration_database_url: str | None = None
    # The HS256 key that signs Pulse's own tokens (`pulse token`, the gateway's sessions); with
    # PULSE_JWT_PREVIOUS_SECRETS, still accepted until their tokens expire (rotation). Unset outside
    # development mode: no token of Pulse's own, only those of the OpenID Connect provider.
    jwt_secret: str | None = Field(None, min_length=32)
    jwt_previous_secrets: list[str] = Field(default_factory=list)
    jwt_leeway_seconds: float = Field(60, ge=0, le=300)
    jwt_max_lifetime_hours: float = Field(24, gt=0)
    # A sign-in link (`pulse token --url`) is usable once, within this many minutes; the session it opens
    # lasts `session_hours` (at most the maximum lifetime of a token).
    signin_link_minutes: float = Field(15, gt=0)
    session_hours: float = Field(12, gt=0)
    # An OpenID Connect provider (e.g. https://sso.bank.example/realms/pulse): its tokens (RS256 or ES256,
    # keys from its JWKS) are accepted when issued by it for `oidc_audience`; `oidc_claims` says which of
    # their claims hold the person's name (sub), role and scope ids.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_claims: dict[str, str] = Field(
        default_factory=lambda: {
            "sub": "preferred_username",
            "role": "pulse_role",
            "branch_id": "pulse_branch_id",
            "officer_id": "pulse_officer_id",
            "client_id": "pulse_client_id",
        }
    )
    # The dashboard's own client at that provider: with it, the sign-in page offers "Sign in with your
    # organisation's account" (the authorization code flow with PKCE, services/gateway/pages/oidc.py), whose
    # redirect URI is <PULSE_GATEWAY_PUBLIC_URL or the gateway's own origin>/signin/oidc/callback. A public
    # client needs no secret; a confidential one sends it to the token endpoint.
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid"
    # How long the provider's keys are kept before they are read again (a key it no longer lists stops
    # working then; a key not seen yet is looked for at once).
    oidc_keys_max_age_seconds: float = Field(300, gt=0)
    # How often (seconds) the gateway reads the revoked tokens' ids again.
    revocations_refresh_seconds: float = Field(5, gt=0)
    # How long (seconds) a verified token's claims are kept, so that a token sent with every request is not
    # checked again each time (never past its expiry; revocations are checked on every request). 0: never kept.
    verified_tokens_seconds: float = Field(10, ge=0, le=60)
    topic_prefix: str = ""
    # Consumer groups are named after the topic prefix unless this is set: a second set of services with
    # their own groups (and an empty database) replays every topic from offset 0.
    group_prefix: str | None = None

    # Development mode (`make up` sets it): development defaults that are unsafe anywhere else are allowed,
    # such as webhooks over plain http. Off unless set.
    dev_mode: bool = False

    log_level: str = "INFO"
    db_pool_min: int = Field(1, ge=1)
    db_pool_max: int = Field(5, ge=1)

    # Consumers: how many records one batch (one database transaction) may hold.
    batch_max_records: int = Field(1000, ge=1)
    batch_timeout_ms: int = Field(200, ge=1)
    # Transient faults are retried forever with exponential backoff capped here.
    retry_initial_seconds: float = Field(0.2, gt=0)
    retry_max_seconds: float = Field(30.0, gt=0)
    # An unexpected (non-transient) error is retried this many times before the message is dead-lettered.
    poison_attempts: int = Field(3, ge=1)

    # HTTP ports of /metrics and /healthz (CONTRACT §5).
    snapshotter_port: int = 9101
    returns_port: int = 9102
    aggregator_port: int = 9103
    alerter_port: int = 9104
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Where people reach the gateway (e.g. https://pulse.example.com behind a proxy): the origin the pages'
    # state changes must come from, and the base of `pulse token --url`. Default: http://<host>:<port>.
    gateway_public_url: str | None = None
    # Where the pages' browser libraries were installed by `npm ci` (default: the repository's node_modules).
    node_modules_dir: str | None = None
    http_host: str = "127.0.0.1"

    # Snapshotter schedule: at `close_time` in `timezone` the previous day is closed.
    timezone: str = "UTC"
    close_time: str = "01:00"
    schedule_enabled: bool = True
    # A close covers at most this many days per transaction (the first close of a year of history takes
    # four); the rest follows in the next, so no transaction holds the days lock for long.
    close_max_days: int = Field(100, ge=1)
    # Events dated later than tomorrow in `timezone`, or stamped further ahead than this, are bad input.
    max_clock_skew_seconds: float = Field(300, ge=0)

    # Alerter.
    notification_horizon_days: int = Field(2, ge=0)
    # A delivery still failing this long after it was first planned is recorded as failed.
    notification_give_up_seconds: float = Field(3600, gt=0)
    # Each delivery attempt's time limit, and the exponential backoff (with jitter) between attempts.
    notification_attempt_timeout_seconds: float = Field(10, gt=0)
    notification_retry_initial_seconds: float = Field(1, gt=0)
    notification_retry_max_seconds: float = Field(300, gt=0)
    thresholds_file: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    # starttls: upgrade the connection, and fail if the server cannot; tls: TLS from the first byte (port 465
    # usually); none: plain text, only without credentials (a relay on the same host, a test server).
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    # CA certificates (PEM) that vouch for the SMTP server, instead of the system's.
    smtp_ca_file: str | None = None
    smtp_from: str = "pulse@localhost"
    # PULSE_WEBHOOKS='[{"url": "https://...", "secrets": ["..."]}]': each receiver with its own secrets.
    webhooks: list[Webhook] = Field(default_factory=list)
    # CA certificates (PEM) that vouch for the webhook receivers, instead of the system's.
    webhook_ca_file: str | None = None
    admin_emails: list[str] = Field(default_factory=list)
    weekly_summary_cron: str = "MON 09:00"
    weekly_summary_enabled: bool = True

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> Settings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and self.kafka_sasl_mechanism is None:
            raise ValueError(
                f"PULSE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs PULSE_KAFKA_SASL_MECHANISM"
            )
        if sasl and self.kafka_sasl_mechanism == "OAUTHBEARER":
            if not (self.kafka_oauth_token_url and self.kafka_oauth_client_id and self.kafka_oauth_client_secret):
                raise ValueError("OAUTHBEARER needs PULSE_KAFKA_OAUTH_TOKEN_URL, _CLIENT_ID and _CLIENT_SECRET")
        elif sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError("SASL needs PULSE_KAFKA_SASL_USERNAME and PULSE_KAFKA_SASL_PASSWORD")
        in_clear = self.kafka_security_protocol == "SASL_PLAINTEXT" and self.kafka_sasl_mechanism == "PLAIN"
        if in_clear and not self.dev_mode:
            raise ValueError("SASL PLAIN over plaintext sends the password in clear: use SASL_SSL")
        return self

    def kafka(self) -> KafkaConnection:
        """How this process's Kafka clients connect."""
        return KafkaConnection.from_settings(self)

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        published = {DEV_JWT_SECRET} & {self.jwt_secret, *self.jwt_previous_secrets}
        if published and not self.dev_mode:
            raise ValueError("PULSE_JWT_SECRET is the development secret, which is published: choose your own")
        if any(len(k) < 32 for k in self.jwt_previous_secrets):
            raise ValueError("a key of PULSE_JWT_PREVIOUS_SECRETS is shorter than 32 characters")
        if (self.oidc_issuer is None) != (self.oidc_audience is None):
            raise ValueError("PULSE_OIDC_ISSUER and PULSE_OIDC_AUDIENCE go together")
        if self.oidc_client_id is not None and self.oidc_issuer is None:
            raise ValueError("PULSE_OIDC_CLIENT_ID needs PULSE_OIDC_ISSUER (the provider it is a client of)")
        if self.smtp_username and self.smtp_tls == "none":
            raise ValueError("PULSE_SMTP_TLS=none with SMTP credentials: they would travel in clear")
        urls = [w.url for w in self.webhooks]
        if len(set(urls)) < len(urls):
            raise ValueError("a webhook URL is listed twice in PULSE_WEBHOOKS")
        if not self.dev_mode:
            plain = [url for url in urls if urlsplit(url).scheme != "https"]
            if plain:
                raise ValueError(f"webhooks must use https outside development mode (PULSE_DEV_MODE): {plain}")
        return self

    def jwt_keys(self) -> SigningKeys | None:
        """The keys of Pulse's own tokens: PULSE_JWT_SECRET (the development secret in development mode)
        then the previous ones; None if there are none."""
        first = self.jwt_secret or (DEV_JWT_SECRET if self.dev_mode else None)
        keys = [k for k in (first, *self.jwt_previous_secrets) if k]
        return SigningKeys(keys) if keys else None

    def token_rules(self) -> TokenRules:
        return TokenRules(
            leeway=dt.timedelta(seconds=self.jwt_leeway_seconds),
            max_lifetime=dt.timedelta(hours=self.jwt_max_lifetime_hours),
        )

    def webhook_secrets(self, url: str) -> list[str]:
        """The secrets that sign what `url` is sent (none if it is no longer configured)."""
        return next((w.secrets for w in self.webhooks if w.url == url), [])

    def event_bounds(self) -> EventBounds:
        return EventBounds(ZoneInfo(self.timezone), dt.timedelta(seconds=self.max_clock_skew_seconds))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
