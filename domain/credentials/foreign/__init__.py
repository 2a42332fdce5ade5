"""Credentials of other issuers: their keys resolved (did:web over HTTPS, did:key, a JWKS URL), fetched safely."""
