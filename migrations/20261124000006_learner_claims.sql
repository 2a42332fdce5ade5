-- migrate:up

-- A learner claims their record at a provider with a one-time code and signs in as a person from
-- then on. One person may hold records at several providers: person_id is the explicit link across
-- providers (records are never merged). A claim is for good: the record cannot be claimed again.
ALTER TABLE learners
    ADD COLUMN person_id uuid REFERENCES persons (id),
    ADD COLUMN claimed_at timestamptz,
    ADD CONSTRAINT learners_claim_check CHECK ((person_id IS NULL) = (claimed_at IS NULL));
CREATE INDEX learners_person_idx ON learners (person_id, created_at, id) WHERE person_id IS NOT NULL;

-- Claim codes the provider hands over (printed or mailed by its own system). Only the SHA-256 of
-- the code is kept: the code has 50 random bits, is used once, expires, and guessing it online is
-- rate limited, so a slow hash would add nothing but latency.
CREATE TABLE learner_claim_codes (
    code_hash text PRIMARY KEY,
    learner_id uuid NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES organisations (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,                 -- replaced by a newer code for the same learner
    created_by_client text,
    created_by_person uuid REFERENCES persons (id)
);
-- At most one live code per learner: issuing a new one revokes the earlier unused ones.
CREATE UNIQUE INDEX learner_claim_codes_live_idx ON learner_claim_codes (learner_id)
    WHERE used_at IS NULL AND revoked_at IS NULL;

-- migrate:down
DROP TABLE learner_claim_codes;
ALTER TABLE learners DROP CONSTRAINT learners_claim_check, DROP COLUMN claimed_at, DROP COLUMN person_id;
