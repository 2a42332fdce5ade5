"""The result of checking a credential: shared by the portfolio, recognition and stacking."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from domain.structs import Model

CheckMethod = Literal["issued_here", "did:web", "did:key", "jwks"]


class CredentialCheck(Model):
    """How a credential was last checked: ``valid`` only when every check passed; ``problems`` says why not.

    A credential issued here is checked against its record (state, suspension, expiry, withdrawn
    signatures); one issued elsewhere against its issuer's published keys, its validity dates and its
    status list."""

    valid: bool
    method: CheckMethod | None
    checked_at: datetime
    problems: list[str]
    key_id: str | None = None  # the key (its kid or DID URL) the signature was checked against
    status_lists: list[str] = []  # the status list credentials consulted
