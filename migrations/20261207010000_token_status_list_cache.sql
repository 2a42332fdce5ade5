-- migrate:up
-- The signed IETF Status List Token of a revocation list (with its suspension list's bits: see
-- domain/credentials/sd_jwt/token_status_list.py), cached like the W3C list's signature: the published
-- version it signed and when it expires.
ALTER TABLE status_lists
    ADD COLUMN token_jwt text,
    ADD COLUMN token_version integer,
    ADD COLUMN token_expires_at timestamptz,
    ADD CONSTRAINT status_lists_token_check
        CHECK ((token_jwt IS NULL) = (token_version IS NULL) AND (token_jwt IS NULL) = (token_expires_at IS NULL));

-- migrate:down
ALTER TABLE status_lists
    DROP CONSTRAINT status_lists_token_check,
    DROP COLUMN token_expires_at,
    DROP COLUMN token_version,
    DROP COLUMN token_jwt;
