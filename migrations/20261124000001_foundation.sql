-- migrate:up

-- Organisations: employers, associations, unions, providers, chambers, QA bodies, authorities.
CREATE TABLE organisations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('employer', 'employer_association', 'social_partner',
        'vet_provider', 'chamber', 'qa_body', 'authority')),
    name jsonb NOT NULL CHECK (jsonb_typeof(name) = 'object'),       -- {"en": "...", "da": "..."}
    default_language text NOT NULL CHECK (default_language ~ '^[a-z]{2,3}$'),
    country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),             -- ISO 3166-1 alpha-2
    region text CHECK (region ~ '^[A-Z]{2}-[A-Z0-9]{1,3}$'),          -- ISO 3166-2
    registration_ids jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(registration_ids) = 'array'),
    website text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_created_idx ON organisations (created_at, id);

-- Accreditations: who accredited whom, for what, until when. Recorded by the accrediting body.
CREATE TABLE accreditations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    accrediting_organisation_id uuid REFERENCES organisations (id),
    accrediting_body_name text NOT NULL,
    scope text NOT NULL,
    reference text,
    valid_from date NOT NULL,
    valid_until date,
    created_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX accreditations_organisation_idx ON accreditations (organisation_id);

-- People log in (authorization-code flow) and belong to organisations as members.
CREATE TABLE persons (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name text NOT NULL,
    password_hash text,  -- argon2id; NULL until a password is set
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX persons_email_key ON persons (lower(email));

CREATE TABLE members (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    person_id uuid NOT NULL REFERENCES persons (id),
    roles text[] NOT NULL CHECK (cardinality(roles) > 0
        AND roles <@ ARRAY['admin', 'author', 'assessor', 'signatory', 'viewer']),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, person_id)
);
CREATE INDEX members_person_idx ON members (person_id);

-- OAuth 2.0 clients belong to one organisation. Secrets are stored hashed (SHA-256 of a
-- 256-bit random secret: slow hashing adds nothing for secrets of that entropy).
CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    name text NOT NULL,
    secret_hash text,
    token_endpoint_auth_method text NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    grant_types text[] NOT NULL,
    redirect_uris text[] NOT NULL DEFAULT '{}',
    scopes text[] NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    CHECK ((token_endpoint_auth_method = 'none') = (secret_hash IS NULL))
);
CREATE INDEX oauth_clients_organisation_idx ON oauth_clients (organisation_id, created_at);

CREATE TABLE oauth_authorization_codes (
    code_hash text PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients (client_id),
    person_id uuid NOT NULL REFERENCES persons (id),
    redirect_uri text NOT NULL,
    scope text NOT NULL,
    code_challenge text NOT NULL,
    code_challenge_method text NOT NULL CHECK (code_challenge_method = 'S256'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- One row per issued access token (a JWT; its jti is kept so it can be revoked at once) and
-- its refresh token (hashed). Rotation links tokens of one grant through family_id, so reuse
-- of a rotated refresh token revokes the whole family.
CREATE TABLE oauth_tokens (
    jti text PRIMARY KEY,
    family_id uuid NOT NULL,
    client_id text NOT NULL REFERENCES oauth_clients (client_id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    person_id uuid REFERENCES persons (id),
    scope text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    refresh_token_hash text UNIQUE,
    refresh_expires_at timestamptz,
    refresh_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX oauth_tokens_family_idx ON oauth_tokens (family_id);

-- Signing keys (the authorization server's now; issuers' credential keys later). Private keys
-- are encrypted with AES-256-GCM under the master key from the environment.
CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    purpose text NOT NULL,
    organisation_id uuid REFERENCES organisations (id),
    alg text NOT NULL,
    public_jwk jsonb NOT NULL,
    private_key_ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE INDEX signing_keys_purpose_idx ON signing_keys (purpose, organisation_id, created_at DESC);

-- Append-only record of every write: who (organisation, person and/or client), what, when.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    organisation_id uuid,
    actor_person_id uuid,
    actor_client_id text,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text NOT NULL,
    request_id text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_organisation_idx ON audit_log (organisation_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Events written in the same transaction as the change; the dispatcher hands them to arq and
-- a sweep re-dispatches whatever was not done, so a Redis outage loses nothing.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic text NOT NULL,
    organisation_id uuid,
    subject text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    done_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE done_at IS NULL;

-- Responses to writes sent with an Idempotency-Key, kept so that a retry gets the first answer.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,           -- who sent it and to which operation
    key text NOT NULL,
    fingerprint text NOT NULL,     -- hash of the request body
    response jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- migrate:down
DROP TABLE idempotency_keys, outbox, audit_log, signing_keys, oauth_tokens,
    oauth_authorization_codes, oauth_clients, members, persons, accreditations, organisations;
DROP FUNCTION audit_log_is_append_only();
