-- migrate:up

-- The ESCO classification as a whole, in every language of its download: what skills-gap guidance
-- compares a person's skills with. Occupational profiles (occupational_profile_versions) stay what
-- programmes are designed against; these tables are the reference they and the guidance draw on.

-- One row per ESCO release imported, with what it changed: a re-import of the same release writes nothing.
CREATE TABLE esco_releases (
    version text PRIMARY KEY CHECK (length(version) BETWEEN 1 AND 64),
    imported_at timestamptz NOT NULL DEFAULT now(),
    languages text[] NOT NULL,
    occupations integer NOT NULL,
    skills integer NOT NULL,
    relations integer NOT NULL,
    changes jsonb NOT NULL            -- {"occupations": {"added": n, "changed": n, "removed": n}, ...}
);

CREATE TABLE esco_skills (
    uri text PRIMARY KEY CHECK (uri ~ '^http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}$'),
    skill_type text,                  -- 'skill/competence' or 'knowledge'
    reuse_level text,                 -- transversal, cross-sector, sector-specific, occupation-specific
    labels jsonb NOT NULL CHECK (jsonb_typeof(labels) = 'object'),   -- language -> preferred label
    release text NOT NULL             -- the release that last changed the row
);

CREATE TABLE esco_occupations (
    uri text PRIMARY KEY CHECK (uri ~ '^http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}$'),
    isco_code text,
    code text,
    labels jsonb NOT NULL CHECK (jsonb_typeof(labels) = 'object'),
    -- Kept equal to esco_occupation_skills by the importer: what a gap or a closeness needs in one row.
    essential_skills text[] NOT NULL DEFAULT '{}',
    optional_skills text[] NOT NULL DEFAULT '{}',
    essential_count integer NOT NULL DEFAULT 0,   -- cardinality(essential_skills), without reading the array
    release text NOT NULL
);

CREATE TABLE esco_occupation_skills (
    occupation_uri text NOT NULL REFERENCES esco_occupations (uri) ON DELETE CASCADE,
    skill_uri text NOT NULL REFERENCES esco_skills (uri) ON DELETE CASCADE,
    relation text NOT NULL CHECK (relation IN ('essential', 'optional')),
    PRIMARY KEY (occupation_uri, skill_uri)
);
-- The reverse question (which occupations need these skills) reads only this index.
CREATE INDEX esco_occupation_skills_essential_idx ON esco_occupation_skills (skill_uri, occupation_uri)
    WHERE relation = 'essential';
-- ... and the share of each occupation's essential skills covered needs only its count (index-only as well).
CREATE INDEX esco_occupations_essential_count_idx ON esco_occupations (uri) INCLUDE (essential_count);

-- What the register offers as training toward skills: each published programme as a whole, and each of
-- its units that can be certified alone, with the ESCO skills its learning outcomes are mapped to and the
-- facts guidance ranks by. Written when a version is published, beside its register entry.
CREATE TABLE register_offers (
    id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    version_id uuid NOT NULL REFERENCES register_entries (version_id),
    unit_key text NOT NULL DEFAULT '',           -- '' for the whole programme
    design_id uuid NOT NULL REFERENCES designs (id),
    number integer NOT NULL,
    is_latest boolean NOT NULL DEFAULT true,
    title jsonb NOT NULL,
    programme_title jsonb NOT NULL,
    default_language text NOT NULL,
    hours double precision,
    eqf_level integer,
    languages text[] NOT NULL DEFAULT '{}',
    country text,
    region text,
    validity_months integer,
    quality_assurance_type text,
    skills text[] NOT NULL,
    PRIMARY KEY (version_id, unit_key)
);
CREATE INDEX register_offers_design_idx ON register_offers (design_id) WHERE is_latest;

-- The skill -> offer map guidance ranks from: one row per ESCO skill of each latest offer, with the offer's hours,
-- so that the first ranking criterion (missing essential skills per hour) is computed from an index-only range per
-- skill; the offers' other facts are read only for the front-runners.
CREATE TABLE register_offer_skills (
    skill_uri text NOT NULL,
    offer_id bigint NOT NULL REFERENCES register_offers (id) ON DELETE CASCADE,
    hours double precision,
    PRIMARY KEY (skill_uri, offer_id) INCLUDE (hours)
);
CREATE INDEX register_offer_skills_offer_idx ON register_offer_skills (offer_id);

-- Register search in every language: the searchable text folded (lower case, accents and ligatures
-- removed, by the application, which PostgreSQL's unaccent extension cannot be relied on for: the
-- embedded server has none), so that words match by prefix where PostgreSQL has no stemmer.
ALTER TABLE register_entries ADD COLUMN search_folded jsonb;

-- migrate:down
ALTER TABLE register_entries DROP COLUMN search_folded;
DROP TABLE register_offer_skills, register_offers, esco_occupation_skills, esco_occupations, esco_skills, esco_releases;
