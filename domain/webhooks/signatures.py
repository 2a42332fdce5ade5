"""Standard Webhooks signing: ``whsec_`` secrets and ``v1,`` HMAC-SHA256 signatures over id, timestamp and body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32  # the specification asks for 24 to 64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(_SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` and the base64 HMAC-SHA256, under the secret's decoded bytes, of ``{id}.{timestamp}.{body}``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signature_header(secrets: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one space-separated signature per secret (two while a rotated-out
    secret is still in its overlap), so that a receiver holding either verifies the message."""
    return " ".join(sign(secret, webhook_id, timestamp, body) for secret in secrets)
