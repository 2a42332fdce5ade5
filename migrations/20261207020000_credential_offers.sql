-- migrate:up
-- OpenID4VCI 1.0 credential offers: one learner's credentials offered to a wallet, redeemed once, through the
-- pre-authorized code (with a transaction code, the PIN) or the authorization code grant (issuer_state).
-- Codes, PINs and issuer states are kept only as keyed hashes.
CREATE TABLE credential_offers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    credential_ids uuid[] NOT NULL CHECK (cardinality(credential_ids) BETWEEN 1 AND 20),
    configuration_ids text[] NOT NULL CHECK (cardinality(configuration_ids) BETWEEN 1 AND 3),
    pre_authorized_code_hash text NOT NULL UNIQUE,
    tx_code_hash text NOT NULL,
    tx_code_failures integer NOT NULL DEFAULT 0,
    issuer_state_hash text NOT NULL UNIQUE,
    -- the offer as handed out (its codes inside), encrypted under the master key, for the page that shows it
    offer_sealed bytea NOT NULL,
    created_by_client text NOT NULL,
    created_by_person uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    redeemed_at timestamptz,
    -- the access token the offer was redeemed for (its jti), and until when it may fetch credentials
    access_token_jti text UNIQUE,
    access_token_expires_at timestamptz,
    access_token_revoked_at timestamptz,
    CHECK ((redeemed_at IS NULL) = (access_token_jti IS NULL))
);
CREATE INDEX credential_offers_expires_idx ON credential_offers (expires_at);

-- What each redeemed offer handed out: which credential, in which format, bound to which key.
CREATE TABLE credential_offer_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    offer_id uuid NOT NULL REFERENCES credential_offers (id) ON DELETE CASCADE,
    credential_id uuid NOT NULL REFERENCES credentials (id),
    configuration_id text NOT NULL,
    holder text NOT NULL,
    delivered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credential_offer_deliveries_offer_idx ON credential_offer_deliveries (offer_id);
CREATE INDEX credential_offer_deliveries_credential_idx ON credential_offer_deliveries (credential_id);

-- c_nonce values from the nonce endpoint: each accepted once, within its lifetime.
CREATE TABLE credential_nonces (
    nonce_hash text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX credential_nonces_expires_idx ON credential_nonces (expires_at);

-- An authorization code obtained with an offer's issuer_state carries the offer to the token it is exchanged for.
ALTER TABLE oauth_authorization_codes ADD COLUMN credential_offer_id uuid REFERENCES credential_offers (id) ON DELETE CASCADE;

-- migrate:down
ALTER TABLE oauth_authorization_codes DROP COLUMN credential_offer_id;
DROP TABLE credential_nonces;
DROP TABLE credential_offer_deliveries;
DROP TABLE credential_offers;
