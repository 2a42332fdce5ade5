-- migrate:up

-- record_attempt_at_once's statements take most of their parameters as they are, yet PostgreSQL's plan cache kept
-- planning them afresh on every call: with p_key, p_limit or the assessor known, a custom plan folds away a branch
-- and looks cheaper than the generic one, so the generic plan was never chosen. A plan per statement per call was
-- a tenth of PostgreSQL's time per recording (perf, bench/README.md). The generic plans look rows up by the same
-- indexes.
ALTER FUNCTION record_attempt_at_once(
    uuid, uuid, uuid, uuid, uuid, text, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, text, text, uuid,
    bigint, boolean, uuid, text, text, text, jsonb, text, jsonb, text, text, text, jsonb, text
) SET plan_cache_mode = force_generic_plan;

-- migrate:down
ALTER FUNCTION record_attempt_at_once(
    uuid, uuid, uuid, uuid, uuid, text, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, text, text, uuid,
    bigint, boolean, uuid, text, text, text, jsonb, text, jsonb, text, text, text, jsonb, text
) RESET plan_cache_mode;
