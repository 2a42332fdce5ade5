-- migrate:up

-- The language a learner's Open Badges credentials are issued in, when the programme has its texts in it
-- (ISO 639, as programmes name their languages); NULL: the programme's default language.
ALTER TABLE learners
    ADD COLUMN preferred_language text CHECK (preferred_language ~ '^[a-z]{2,3}$');

-- migrate:down
ALTER TABLE learners DROP COLUMN preferred_language;
