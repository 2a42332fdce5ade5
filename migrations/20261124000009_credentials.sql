-- migrate:up

-- Issued (and to-be-issued) credentials. One row per learner and passing decision: issuance_key is
-- what makes issuing exactly-once whatever the retries, races or crashes ('attempt:<id>' for a unit,
-- 'programme:<learner>:<version>' and 'qualification:<learner>:<version>' for the wholes).
CREATE TABLE credentials (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('unit', 'programme', 'qualification')),
    issuance_key text NOT NULL UNIQUE,
    learner_id uuid NOT NULL REFERENCES learners (id),
    provider_id uuid NOT NULL REFERENCES organisations (id),      -- who assessed (the learner's record)
    awarding_body_id uuid NOT NULL REFERENCES organisations (id),  -- who signs first
    cosigner_id uuid REFERENCES organisations (id),                -- who must sign too before it is valid
    design_id uuid NOT NULL REFERENCES designs (id),
    version_id uuid NOT NULL REFERENCES design_versions (id),
    unit_key text,
    attempt_id uuid REFERENCES attempts (id),                      -- the passing decision (unit credentials)
    stands_on uuid[] NOT NULL DEFAULT '{}',                        -- credentials a programme/qualification rests on
    state text NOT NULL CHECK (state IN ('held', 'awaiting_cosignature', 'issued', 'cosign_refused', 'revoked')),
    suspended boolean NOT NULL DEFAULT false,
    payload bytea,                                                 -- the credential JSON exactly as signed
    status_number integer,                                         -- its slot in the awarding body's status lists
    status_index integer,
    issued_at timestamptz,
    valid_until timestamptz,
    replaces_credential_id uuid REFERENCES credentials (id),
    renews_credential_id uuid REFERENCES credentials (id),
    revoked_at timestamptz,
    revocation_reason text,
    suspended_at timestamptz,
    suspension_reason text,
    cosign_refused_at timestamptz,
    cosign_refusal_reason text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'held') = (payload IS NULL)),
    CHECK (state <> 'revoked' OR revocation_reason IS NOT NULL)
);
CREATE INDEX credentials_learner_idx ON credentials (learner_id, created_at, id);
CREATE INDEX credentials_provider_idx ON credentials (provider_id, created_at, id);
CREATE INDEX credentials_awarding_idx ON credentials (awarding_body_id, created_at, id);
CREATE INDEX credentials_cosign_queue_idx ON credentials (cosigner_id, created_at, id) WHERE state = 'awaiting_cosignature';
CREATE INDEX credentials_achievement_idx ON credentials (learner_id, design_id, unit_key);
CREATE INDEX credentials_attempt_idx ON credentials (attempt_id);

-- Every signature over a credential's payload: the awarding body's, then each co-signer's.
CREATE TABLE credential_signatures (
    credential_id uuid NOT NULL REFERENCES credentials (id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    role text NOT NULL CHECK (role IN ('issuer', 'cosigner')),
    kid text NOT NULL,
    protected text NOT NULL,        -- base64url protected header
    signature text NOT NULL,        -- base64url signature
    signed_at timestamptz NOT NULL DEFAULT now(),
    signed_by_person uuid REFERENCES persons (id),
    signed_by_client text,
    withdrawn_at timestamptz,       -- a co-signer withdraws its own signature's validity
    withdrawal_reason text,
    PRIMARY KEY (credential_id, organisation_id)
);

-- Providers may hold issuing for a programme: its new credentials wait in state 'held' until released.
CREATE TABLE issuing_holds (
    provider_id uuid NOT NULL REFERENCES organisations (id),
    design_id uuid NOT NULL REFERENCES designs (id),
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, design_id)
);

-- Endorsements a chamber (or authority, QA body) made of an achievement: a signed Open Badges 3.0
-- EndorsementCredential, embedded in later credentials for that achievement.
CREATE TABLE endorsements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endorser_id uuid NOT NULL REFERENCES organisations (id),
    design_id uuid NOT NULL REFERENCES designs (id),
    unit_key text,
    comment text NOT NULL,
    payload bytea NOT NULL,
    jwt text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz
);
CREATE INDEX endorsements_achievement_idx ON endorsements (design_id, unit_key) WHERE withdrawn_at IS NULL;

-- migrate:down
DROP TABLE endorsements, issuing_holds, credential_signatures, credentials;
