-- migrate:up

-- A design is a co-authored document — a programme or a qualification — with versions that
-- every approving co-author must approve before publication.
CREATE TABLE designs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('programme', 'qualification')),
    lead_organisation_id uuid NOT NULL REFERENCES organisations (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    coauthors_version integer NOT NULL DEFAULT 1
);
CREATE INDEX designs_lead_idx ON designs (lead_organisation_id);

-- Co-authoring organisations and their roles on the design. The lead is one of them.
CREATE TABLE design_coauthors (
    design_id uuid NOT NULL REFERENCES designs (id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    roles text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['author', 'approver', 'cosigner']),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (design_id, organisation_id)
);
CREATE INDEX design_coauthors_organisation_idx ON design_coauthors (organisation_id);

CREATE TABLE design_versions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    design_id uuid NOT NULL REFERENCES designs (id),
    number integer NOT NULL CHECK (number > 0),
    status text NOT NULL CHECK (status IN ('draft', 'proposed', 'published')),
    content jsonb NOT NULL,
    revision integer NOT NULL DEFAULT 1,          -- the ETag of a draft; each save adds one
    approval_round integer NOT NULL DEFAULT 0,    -- each proposal opens a new round of approvals
    based_on_version_id uuid REFERENCES design_versions (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    proposed_at timestamptz,
    published_at timestamptz,
    UNIQUE (design_id, number)
);
-- At most one version is open (draft or proposed) at a time.
CREATE UNIQUE INDEX design_versions_one_open_idx ON design_versions (design_id) WHERE status <> 'published';

-- A published version is immutable, whatever route tries to change it.
CREATE FUNCTION design_versions_published_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'design version % is published and cannot change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER design_versions_immutable BEFORE UPDATE OR DELETE ON design_versions
    FOR EACH ROW EXECUTE FUNCTION design_versions_published_are_immutable();

-- Every saved change of a version: who, when, and the structured diff.
CREATE TABLE design_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_id uuid NOT NULL REFERENCES design_versions (id),
    revision integer NOT NULL,
    organisation_id uuid,
    person_id uuid,
    client_id text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    diff jsonb NOT NULL
);
CREATE INDEX design_changes_version_idx ON design_changes (version_id, id);

CREATE TABLE design_comments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_id uuid NOT NULL REFERENCES design_versions (id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    person_id uuid,
    client_id text,
    target text NOT NULL,        -- 'programme', 'unit:<key>' or 'outcome:<unit key>/<outcome key>'
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX design_comments_version_idx ON design_comments (version_id, created_at, id);

CREATE TABLE design_approvals (
    version_id uuid NOT NULL REFERENCES design_versions (id),
    approval_round integer NOT NULL,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    decision text NOT NULL CHECK (decision IN ('approved', 'changes_requested')),
    reason text,
    person_id uuid,
    client_id text,
    decided_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (version_id, approval_round, organisation_id),
    CHECK (decision = 'approved' OR reason IS NOT NULL)
);

-- The public register: one row per published version, with the columns it is searched by.
CREATE TABLE register_entries (
    version_id uuid PRIMARY KEY REFERENCES design_versions (id),
    design_id uuid NOT NULL REFERENCES designs (id),
    kind text NOT NULL,
    number integer NOT NULL,
    is_latest boolean NOT NULL DEFAULT true,
    title jsonb NOT NULL,
    default_language text NOT NULL,
    search_text jsonb NOT NULL,          -- language -> all the text of the version in that language
    esco_occupation_uri text,
    isco_code text,
    eqf_levels integer[] NOT NULL DEFAULT '{}',
    country text,
    languages text[] NOT NULL DEFAULT '{}',
    provider_ids uuid[] NOT NULL DEFAULT '{}',
    awarding_body_id uuid,
    quality_assurance_type text,
    published_at timestamptz NOT NULL
);
CREATE INDEX register_entries_latest_idx ON register_entries (kind, published_at, version_id) WHERE is_latest;
CREATE INDEX register_entries_occupation_idx ON register_entries (esco_occupation_uri) WHERE is_latest;

-- migrate:down
DROP TABLE register_entries, design_approvals, design_comments, design_changes;
DROP TRIGGER design_versions_immutable ON design_versions;
DROP FUNCTION design_versions_published_are_immutable();
DROP TABLE design_versions, design_coauthors, designs;
