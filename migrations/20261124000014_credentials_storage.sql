-- migrate:up

-- Issuing writes one credentials row per passing decision, so each index and each compression step
-- is paid 100,000 times for a cohort. credentials_achievement_idx (learner_id, ...) already serves
-- every lookup by learner; the payload (~5 kB of JSON) is compressed with lz4 where the server has it,
-- several times cheaper in CPU than the default pglz (embedded builds without lz4 keep pglz).
DROP INDEX credentials_learner_idx;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE credentials ALTER COLUMN payload SET COMPRESSION lz4;
    END IF;
END $$;

-- migrate:down
ALTER TABLE credentials ALTER COLUMN payload SET COMPRESSION default;
CREATE INDEX credentials_learner_idx ON credentials (learner_id, created_at, id);
