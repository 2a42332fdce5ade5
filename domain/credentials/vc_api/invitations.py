"""How a VC-API exchange is handed to the Learner Credential Wallet: an exchange invitation in a link.

Read from the wallet's own code (openwallet-foundation-labs/learner-credential-wallet, June 2026:
``app.config.js`` LinkConfig, ``app/lib/walletRequestApi.ts``, ``app/lib/deepLinkConfig.ts``,
``app/screens/ExchangeCredentials``): a link starting with one of its schemes (``https://lcw.app/request``,
``dccrequest://``, ``org.dcconsortium://``) whose ``request`` query parameter is the JSON invitation
``{"credentialRequestOrigin": origin, "protocols": {"vcapi": exchange URL}}``; the wallet POSTs ``{}`` to the
``vcapi`` URL, answers the ``verifiablePresentationRequest`` it gets at the same URL, and stores the
credentials of the ``verifiablePresentation`` that comes back. The same form is read by wallets back to 2024
(``credentialRequestFromChapiUrl``). The DCC's own services emit ``https://lcw.app/request…?request=``.

* The QR code holds ``https://lcw.app/request?request=…``: LCW's scanner takes it, and a phone camera opens
  lcw.app, which explains the wallet to someone who has none.
* The page's button is ``dccrequest://request?request=…``: the scheme LCW registers on Android and iOS, so a
  tap on the phone opens the wallet directly.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

LCW_REQUEST_URL = "https://lcw.app/request"
LCW_SCHEME = "dccrequest://request"


def invitation(origin: str, exchange_url: str) -> dict[str, Any]:
    """The exchange invitation: where the wallet starts the exchange, and who asks."""
    return {"credentialRequestOrigin": origin, "protocols": {"vcapi": exchange_url}}


def _request_parameter(origin: str, exchange_url: str) -> str:
    text = json.dumps(invitation(origin, exchange_url), separators=(",", ":"))
    return "request=" + quote(text, safe="")


def wallet_request_url(origin: str, exchange_url: str) -> str:
    """``https://lcw.app/request?request=<invitation>``: for the QR code."""
    return f"{LCW_REQUEST_URL}?{_request_parameter(origin, exchange_url)}"


def deep_link(origin: str, exchange_url: str) -> str:
    """``dccrequest://request?request=<invitation>``: opens the wallet on the phone it is tapped on."""
    return f"{LCW_SCHEME}?{_request_parameter(origin, exchange_url)}"
