"""OpenID for Verifiable Credential Issuance 1.0: Guildhall as a credential issuer that learners' wallets
(EU Digital Identity Wallets, Open Badges wallets) fetch their credentials from.

A provider or the learner makes a credential offer; a wallet redeems it at our token endpoint (the
pre-authorized code with a PIN, or the authorization code through our own OAuth server), proves that it holds
a key (a ``jwt`` proof over a ``c_nonce``) and gets the credential bound to that key, in the format it asks for.
"""
