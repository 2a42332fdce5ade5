-- migrate:up

-- Occupational profiles: reference data that programmes map their learning outcomes to. A
-- profile is written by hand or imported from ESCO; every change is a new, immutable version,
-- and programmes point at a version so that their coverage report does not shift under them.
CREATE TABLE occupational_profiles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid REFERENCES organisations (id)  -- NULL when the platform (CLI, demo) created it
);
CREATE INDEX occupational_profiles_created_idx ON occupational_profiles (created_at, id);

CREATE TABLE occupational_profile_versions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    profile_id uuid NOT NULL REFERENCES occupational_profiles (id),
    number integer NOT NULL CHECK (number > 0),
    title jsonb NOT NULL CHECK (jsonb_typeof(title) = 'object'),          -- {"en": "...", "da": "..."}
    default_language text NOT NULL CHECK (default_language ~ '^[a-z]{2,3}$'),
    esco_occupation_uri text
        CHECK (esco_occupation_uri ~ '^http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}$'),
    isco_code text CHECK (isco_code ~ '^[0-9]{4}$'),                      -- ISCO-08 unit group
    description jsonb CHECK (description IS NULL OR jsonb_typeof(description) = 'object'),
    competences jsonb NOT NULL CHECK (jsonb_typeof(competences) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (profile_id, number)
);
CREATE INDEX occupational_profile_versions_occupation_idx ON occupational_profile_versions (esco_occupation_uri);
-- text_pattern_ops: the register filters by an ISCO prefix (major, sub-major, minor or unit group).
CREATE INDEX occupational_profile_versions_isco_idx ON occupational_profile_versions (isco_code text_pattern_ops);

-- Versions are immutable: a change is a new version.
CREATE FUNCTION occupational_profile_versions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'occupational profile version % cannot change; add a new version', OLD.id
        USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER occupational_profile_versions_immutable BEFORE UPDATE OR DELETE ON occupational_profile_versions
    FOR EACH ROW EXECUTE FUNCTION occupational_profile_versions_are_immutable();

-- migrate:down
DROP TABLE occupational_profile_versions, occupational_profiles;
DROP FUNCTION occupational_profile_versions_are_immutable();
