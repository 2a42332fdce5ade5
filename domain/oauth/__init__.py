"""OAuth 2.0 persistence: clients, authorization codes, tokens, and the principals tokens stand for."""
