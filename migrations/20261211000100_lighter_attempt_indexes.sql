-- migrate:up

-- Three index entries fewer per keyed recording, each a B-tree descent and a WAL record:
--
-- * attempts_version_idx ordered the attempts at a programme version by time. No query asks for that (every query on
--   attempts starts from an attempt, a learner, a provider or the attempt it corrects), and every recording
--   appended to its last page, one of the pages all concurrent recordings write. On a fresh database the planner
--   once took it to count a learner's attempts (bench/record.py): that trap goes with it.
-- * "An attempt is corrected at most once" was a UNIQUE constraint over corrects_attempt_id, which also indexed the
--   NULL of every attempt that corrects nothing (nearly all). A partial unique index says the same over the
--   corrections alone; "is this attempt corrected?" (corrects_attempt_id = an id) can use it as before.
-- * idempotency_keys_created_idx orders the kept answers by age, for their expiry, and nothing reads it on a write.
--   Rows arrive in created_at order, so a BRIN index serves a "created before" scan as well, and adding a row to
--   the range being filled costs next to nothing.
DROP INDEX attempts_version_idx;

ALTER TABLE attempts DROP CONSTRAINT attempts_corrects_attempt_id_key;
CREATE UNIQUE INDEX attempts_corrects_idx ON attempts (corrects_attempt_id) WHERE corrects_attempt_id IS NOT NULL;

DROP INDEX idempotency_keys_created_idx;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys USING brin (created_at);

-- migrate:down
DROP INDEX idempotency_keys_created_idx;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

DROP INDEX attempts_corrects_idx;
ALTER TABLE attempts ADD CONSTRAINT attempts_corrects_attempt_id_key UNIQUE (corrects_attempt_id);

CREATE INDEX attempts_version_idx ON attempts (version_id, created_at, id);
