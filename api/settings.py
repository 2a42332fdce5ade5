"""Settings read from the environment, once, into one frozen object."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
from dataclasses import dataclass, field

from domain.db import DEFAULT_STATEMENT_CACHE_SIZE
from domain.webhooks.delivery import DEFAULT_RETRY_SCHEDULE, MAX_TIMEOUT
from domain.webhooks.urls import LOOPBACK_NETWORKS, IPNetwork


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and says what to set."""


def decode_master_key(value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise SettingsError("GUILDHALL_MASTER_KEY is not base64") from exc
    if len(key) != 32:
        raise SettingsError(
            "GUILDHALL_MASTER_KEY must be 32 random bytes, base64url-encoded (generate one with `guildhall keygen`)"
        )
    return key


@dataclass(frozen=True)
class RateLimit:
    requests: int
    per_seconds: int


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    master_key: bytes
    public_url: str = "http://127.0.0.1:8000"
    environment: str = "development"  # development | production | test
    access_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 24 * 3600
    authorization_code_ttl: int = 60
    db_pool_min: int = 2
    db_pool_max: int = 10
    # 0 when PostgreSQL is reached through PgBouncer in transaction mode (before 1.21, or without
    # max_prepared_statements): a named prepared statement lives in one server connection, and PgBouncer hands
    # each transaction whichever one is free. asyncpg then parses each statement anew (see README, Scaling out).
    db_statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE
    # Seconds a statement of the API's or the worker's may wait for PostgreSQL's answer (0: for ever). A server
    # that falls silent (a failover whose old primary vanished without closing its connections) costs a request
    # this, answered 503, instead of the quarter of an hour before the kernel gives up on the socket; the pool then
    # replaces its other connections (domain.db).
    db_command_timeout: int = 30
    # A direct connection (not through a transaction-pooling PgBouncer) for what needs a session of its own:
    # `guildhall migrate` holds a session advisory lock. None: database_url is direct.
    database_direct_url: str | None = None
    token_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(60, 60))
    login_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(10, 60))  # per address and account
    login_address_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(30, 300))  # per address
    # OpenID4VCI: offers made per client or person; nonce and credential requests per address.
    offer_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(30, 60))
    wallet_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(120, 60))
    # Learner Credential Wallet exchanges: made per person, and a wallet's messages to them per address.
    wallet_exchange_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(20, 600))
    # A class behind one NAT adds its credentials at once: two messages per learner, 60 learners a minute.
    exchange_message_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(120, 60))
    log_level: str = "INFO"
    # The bearer token a Prometheus scraper sends for /metrics in production (there, no token: no metrics).
    metrics_token: str | None = None
    # Webhooks go only to public addresses, but for these networks (CIDRs). None: loopback outside
    # production (a local test receiver), nothing in production.
    webhook_allowed_networks: tuple[str, ...] | None = None
    # Seconds to wait after each failed attempt in a row; when they run out the endpoint turns failing.
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    webhook_timeout: float = 10.0  # seconds for one attempt, at most MAX_TIMEOUT
    # Other issuers' DID documents, JWKS and status lists are fetched only from public addresses, but for
    # these networks (CIDRs): nothing by default, loopback only where a test says so explicitly.
    foreign_fetch_allowed_networks: tuple[str, ...] = ()
    # A CA bundle (PEM file) to trust for those fetches instead of the system's (a test's own TLS server).
    foreign_fetch_ca_bundle: str | None = None
    # SMTP_URL: smtp://user:pass@host:587?starttls=1, smtps://user:pass@host:465; None: mail waits in PostgreSQL.
    smtp_url: str | None = None
    mail_from: str | None = None  # GUILDHALL_MAIL_FROM; default noreply@ the public URL's host
    # Mail kept by `guildhall dev`'s own mail server, shown at /dev/mail (development only).
    dev_mail_dir: str | None = None
    password_reset_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(5, 3600))  # per address, per IP
    totp_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(5, 300))  # per person
    invitation_ttl: int = 7 * 24 * 3600
    # Seconds an Idempotency-Key and its stored answer are kept after their first use (0: for ever): a retry within
    # them replays the answer, one after them is a new request. Offline devices sync late: a week by default.
    idempotency_key_ttl: int = 7 * 24 * 3600
    link_ttl: int = 3600  # password reset; e-mail verification links last a day

    @property
    def sender(self) -> str:
        from domain.mail.sending import default_sender

        return self.mail_from or default_sender(self.public_url)

    @property
    def session_database_url(self) -> str:
        """Where work that needs a session (a session advisory lock, LISTEN) connects."""
        return self.database_direct_url or self.database_url

    # Where `guildhall worker` writes its health (Redis, PostgreSQL, running) for `guildhall worker --check`;
    # None: the check reads arq's health key in Redis instead.
    worker_health_file: str | None = None

    @property
    def issuer(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def claim_code_key(self) -> bytes:
        """The key claim codes are hashed under (HMAC-SHA-256), derived from the master key."""
        return hmac.new(self.master_key, b"guildhall learner claim codes v1", hashlib.sha256).digest()

    @property
    def webhook_networks(self) -> tuple[IPNetwork, ...]:
        if self.webhook_allowed_networks is None:
            return () if self.environment == "production" else LOOPBACK_NETWORKS
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.webhook_allowed_networks)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        missing = [name for name in ("DATABASE_URL", "REDIS_URL", "GUILDHALL_MASTER_KEY") if not env.get(name)]
        if missing:
            raise SettingsError(f"set {', '.join(missing)} in the environment")
        port = env.get("PORT", "8000")
        values: dict[str, object] = {
            "database_url": env["DATABASE_URL"],
            "redis_url": env["REDIS_URL"],
            "master_key": decode_master_key(env["GUILDHALL_MASTER_KEY"]),
            "public_url": env.get("GUILDHALL_PUBLIC_URL", f"http://127.0.0.1:{port}"),
            "environment": env.get("GUILDHALL_ENV", "production"),
            "log_level": env.get("LOG_LEVEL", "INFO").upper(),
            "database_direct_url": env.get("DATABASE_DIRECT_URL") or None,
        }
        for name, attr in (
            ("ACCESS_TOKEN_TTL", "access_token_ttl"),
            ("DB_POOL_MIN", "db_pool_min"),
            ("DB_POOL_MAX", "db_pool_max"),
            ("DB_STATEMENT_CACHE_SIZE", "db_statement_cache_size"),
            ("DB_COMMAND_TIMEOUT", "db_command_timeout"),
            ("IDEMPOTENCY_KEY_TTL", "idempotency_key_ttl"),
        ):
            if name in env:
                try:
                    values[attr] = int(env[name])
                except ValueError as exc:
                    raise SettingsError(f"{name} must be an integer, got {env[name]!r}") from exc
                if values[attr] < 0:  # type: ignore[operator]
                    raise SettingsError(f"{name} must not be negative, got {env[name]!r}")
        if token := env.get("GUILDHALL_METRICS_TOKEN"):
            if len(token) < 20:
                raise SettingsError("GUILDHALL_METRICS_TOKEN needs at least 20 characters (`openssl rand -hex 24`)")
            values["metrics_token"] = token
        if health_file := env.get("GUILDHALL_WORKER_HEALTH_FILE"):
            values["worker_health_file"] = health_file
        values.update(_mail_settings(env))
        values.update(_webhook_settings(env))
        values.update(_foreign_fetch_settings(env))
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _items(value: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", value) if item]


def _mail_settings(env: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if smtp_url := env.get("SMTP_URL"):
        from domain.mail.sending import SmtpServer

        try:
            SmtpServer.from_url(smtp_url)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        values["smtp_url"] = smtp_url
    if mail_from := env.get("GUILDHALL_MAIL_FROM"):
        values["mail_from"] = mail_from
    if dev_mail_dir := env.get("GUILDHALL_DEV_MAIL_DIR"):
        values["dev_mail_dir"] = dev_mail_dir
    return values


def _foreign_fetch_settings(env: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if "GUILDHALL_FOREIGN_FETCH_ALLOWED_NETWORKS" in env:
        networks = _items(env["GUILDHALL_FOREIGN_FETCH_ALLOWED_NETWORKS"])
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise SettingsError(
                    f"GUILDHALL_FOREIGN_FETCH_ALLOWED_NETWORKS: {network!r} is not a network such as 127.0.0.1/32"
                ) from exc
        values["foreign_fetch_allowed_networks"] = tuple(networks)
    if env.get("GUILDHALL_FOREIGN_FETCH_CA_BUNDLE"):
        values["foreign_fetch_ca_bundle"] = env["GUILDHALL_FOREIGN_FETCH_CA_BUNDLE"]
    return values


def _webhook_settings(env: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if "GUILDHALL_WEBHOOK_ALLOWED_NETWORKS" in env:
        networks = _items(env["GUILDHALL_WEBHOOK_ALLOWED_NETWORKS"])
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise SettingsError(
                    f"GUILDHALL_WEBHOOK_ALLOWED_NETWORKS: {network!r} is not a network such as 10.1.0.0/16 or ::1/128"
                ) from exc
        values["webhook_allowed_networks"] = tuple(networks)
    if "GUILDHALL_WEBHOOK_RETRY_SCHEDULE" in env:
        try:
            schedule = tuple(float(item) for item in _items(env["GUILDHALL_WEBHOOK_RETRY_SCHEDULE"]))
        except ValueError as exc:
            raise SettingsError("GUILDHALL_WEBHOOK_RETRY_SCHEDULE must be seconds separated by commas") from exc
        if any(not 0 <= wait <= 7 * 24 * 3600 for wait in schedule):
            raise SettingsError("GUILDHALL_WEBHOOK_RETRY_SCHEDULE: each wait must be 0 to 604800 seconds")
        values["webhook_retry_schedule"] = schedule
    if "GUILDHALL_WEBHOOK_TIMEOUT" in env:
        try:
            timeout = float(env["GUILDHALL_WEBHOOK_TIMEOUT"])
        except ValueError as exc:
            raise SettingsError("GUILDHALL_WEBHOOK_TIMEOUT must be a number of seconds") from exc
        if not 0 < timeout <= MAX_TIMEOUT:
            raise SettingsError(f"GUILDHALL_WEBHOOK_TIMEOUT must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
        values["webhook_timeout"] = timeout
    return values
