-- migrate:up

-- Learners are stored once per provider; across providers they match only by an explicit
-- identifier (a national id scheme), never by name or e-mail.
CREATE TABLE learners (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id uuid NOT NULL REFERENCES organisations (id),
    name text NOT NULL,
    date_of_birth date,
    email text,
    email_salt text NOT NULL,  -- credentials carry sha256(email + salt), never the e-mail itself
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX learners_provider_email_key ON learners (provider_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX learners_provider_idx ON learners (provider_id, created_at, id);

CREATE TABLE learner_identifiers (
    learner_id uuid NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES organisations (id),
    scheme text NOT NULL,   -- 'student_number', or 'national:<country>' for a national id
    value text NOT NULL,
    PRIMARY KEY (provider_id, scheme, value)
);
CREATE INDEX learner_identifiers_scheme_idx ON learner_identifiers (scheme, value);
CREATE INDEX learner_identifiers_learner_idx ON learner_identifiers (learner_id);

-- A provider enrols a learner in a published programme version, or in one unit of it.
CREATE TABLE enrolments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id uuid NOT NULL REFERENCES organisations (id),
    learner_id uuid NOT NULL REFERENCES learners (id),
    version_id uuid NOT NULL REFERENCES design_versions (id),
    unit_key text,          -- NULL: the whole programme
    enrolled_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX enrolments_once_idx ON enrolments (learner_id, version_id, coalesce(unit_key, ''));
CREATE INDEX enrolments_provider_idx ON enrolments (provider_id, enrolled_at, id);

-- Attempts are append-only: a correction is a new row pointing at the attempt it corrects.
CREATE TABLE attempts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id uuid NOT NULL REFERENCES organisations (id),
    learner_id uuid NOT NULL REFERENCES learners (id),
    enrolment_id uuid NOT NULL REFERENCES enrolments (id),
    version_id uuid NOT NULL REFERENCES design_versions (id),
    unit_key text NOT NULL,
    attempt_number integer NOT NULL,        -- counts assessments, not corrections
    assessor_person_id uuid REFERENCES persons (id),
    assessed_at timestamptz NOT NULL,
    place text,
    supervision text,
    submission jsonb NOT NULL,
    evidence jsonb NOT NULL DEFAULT '[]',
    decision jsonb NOT NULL,
    passed boolean NOT NULL,
    corrects_attempt_id uuid UNIQUE REFERENCES attempts (id),
    correction_reason text,
    source text NOT NULL CHECK (source IN ('api', 'bulk', 'xapi')),
    batch_id uuid,
    dedupe_key text,                        -- bulk rows and xAPI statements: recorded once whatever the retries
    recorded_by_client text,
    recorded_by_person uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((corrects_attempt_id IS NULL) = (correction_reason IS NULL))
);
CREATE UNIQUE INDEX attempts_dedupe_idx ON attempts (provider_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX attempts_learner_unit_idx ON attempts (learner_id, version_id, unit_key, created_at);
CREATE INDEX attempts_provider_idx ON attempts (provider_id, created_at, id);
CREATE INDEX attempts_version_idx ON attempts (version_id, created_at, id);

CREATE FUNCTION attempts_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attempts are append-only: record a correction instead';
END $$;
CREATE TRIGGER attempts_append_only BEFORE UPDATE OR DELETE ON attempts
    FOR EACH ROW EXECUTE FUNCTION attempts_are_append_only();

-- xAPI statements as received from simulators, kept whatever became of them.
CREATE TABLE xapi_statements (
    id uuid PRIMARY KEY,                    -- the statement's own id
    provider_id uuid NOT NULL REFERENCES organisations (id),
    client_id text,
    received_at timestamptz NOT NULL DEFAULT now(),
    statement jsonb NOT NULL,
    attempt_id uuid REFERENCES attempts (id),
    problem text
);

-- Bulk uploads of results, decided in the background with progress that can be polled.
CREATE TABLE result_batches (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id uuid NOT NULL REFERENCES organisations (id),
    format text NOT NULL CHECK (format IN ('json', 'csv')),
    fingerprint text NOT NULL,              -- sha256 of the upload: the same batch twice records nothing twice
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_total integer NOT NULL,
    rows_done integer NOT NULL DEFAULT 0,
    accepted integer NOT NULL DEFAULT 0,
    rejected integer NOT NULL DEFAULT 0,
    rejections jsonb NOT NULL DEFAULT '[]',
    payload jsonb NOT NULL,                 -- the parsed rows, kept until processed
    recorded_by_client text,
    recorded_by_person uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (provider_id, fingerprint)
);

-- migrate:down
DROP TABLE result_batches, xapi_statements;
DROP TRIGGER attempts_append_only ON attempts;
DROP FUNCTION attempts_are_append_only();
DROP TABLE attempts, enrolments, learner_identifiers, learners;
