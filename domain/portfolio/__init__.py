"""A person's portfolio: their credentials from every provider, and credentials of other issuers they add."""
