"""The OAuth 2.0 authorization server: authlib's grants and endpoints on Litestar, tokens in PostgreSQL."""
