"""Verifiable credentials: for now the issuing organisations' signing keys (``keys``); issuing,
co-signing and status lists will build on them."""
