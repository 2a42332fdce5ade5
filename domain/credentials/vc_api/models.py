"""The wire shapes of the Learner Credential Wallet exchange: what the learner gets to show the wallet, and
what the wallet sends (VC-API exchange messages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.structs import Model


class WalletExchange(Model):
    """A VC-API exchange made for one of your credentials: show ``walletRequestUrl`` as a QR code (or open
    ``deepLink`` on the phone); the Learner Credential Wallet then runs the exchange at ``exchangeUrl``. Single
    use; it expires at ``expiresAt``."""

    exchange_id: UUID
    credential_id: UUID
    exchange_url: str
    invitation: dict[str, Any]
    wallet_request_url: str
    deep_link: str
    page_url: str
    expires_at: datetime


class ExchangeMessage(msgspec.Struct, forbid_unknown_fields=True):
    """What a wallet POSTs to an exchange: ``{}`` to start it, then ``{"verifiablePresentation": …}`` (the
    DIDAuth presentation the request asked for)."""

    verifiablePresentation: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
