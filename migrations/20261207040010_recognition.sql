-- migrate:up

-- A grant of recognition is recorded as an attempt of its own kind: the recognised credentials are its
-- evidence, and a passing one earns the unit like any other pass.
ALTER TABLE attempts DROP CONSTRAINT attempts_source_check;
ALTER TABLE attempts ADD CONSTRAINT attempts_source_check
    CHECK (source IN ('api', 'bulk', 'xapi', 'prior_learning'));

-- What an awarding body recognises for one unit of a programme it awards: credentials of given
-- achievements, credentials that meet criteria (issuers, ESCO skills, minimum EQF level and hours), or
-- anything, case by case (an assessor decides).
CREATE TABLE recognition_rules (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    design_id uuid NOT NULL REFERENCES designs (id),
    unit_key text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('achievement', 'criteria', 'case_by_case')),
    achievement_ids text[] NOT NULL DEFAULT '{}',
    issuers text[] NOT NULL DEFAULT '{}',
    esco_skills text[] NOT NULL DEFAULT '{}',
    min_eqf_level integer CHECK (min_eqf_level BETWEEN 1 AND 8),
    min_hours numeric CHECK (min_hours >= 0),
    note text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    CHECK (kind <> 'achievement' OR cardinality(achievement_ids) > 0)
);

CREATE INDEX recognition_rules_unit ON recognition_rules (design_id, unit_key) WHERE withdrawn_at IS NULL;

-- A person lets an organisation (their provider) ask for recognition on their behalf.
CREATE TABLE recognition_consents (
    person_id uuid NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, organisation_id)
);

CREATE TABLE recognition_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id uuid NOT NULL REFERENCES persons (id),
    awarding_body_id uuid NOT NULL REFERENCES organisations (id),
    design_id uuid NOT NULL REFERENCES designs (id),
    version_id uuid NOT NULL REFERENCES design_versions (id),
    unit_key text NOT NULL,
    credentials jsonb NOT NULL,  -- [{source, id, credentialUri, issuer, digest, achievementId, ...}]
    status text NOT NULL CHECK (status IN ('pending', 'granted', 'refused')),
    rule_id uuid REFERENCES recognition_rules (id),
    reasons text[] NOT NULL DEFAULT '{}',
    submitted_by_organisation uuid REFERENCES organisations (id),  -- a provider acting with consent
    submitted_by_client text,
    decided_by_person uuid REFERENCES persons (id),
    decided_by_client text,
    decided_at timestamptz,
    attempt_id uuid REFERENCES attempts (id),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'granted') = (attempt_id IS NOT NULL))
);

CREATE INDEX recognition_requests_queue ON recognition_requests (awarding_body_id, status, created_at);
CREATE INDEX recognition_requests_person ON recognition_requests (person_id, created_at);

-- migrate:down
DROP TABLE recognition_requests;
DROP TABLE recognition_consents;
DROP TABLE recognition_rules;
ALTER TABLE attempts DROP CONSTRAINT attempts_source_check;
ALTER TABLE attempts ADD CONSTRAINT attempts_source_check CHECK (source IN ('api', 'bulk', 'xapi'));
