-- name: claim_event
-- Locks the event for this transaction; a row another worker holds is skipped, not waited for.
SELECT id, topic, organisation_id, subject, payload, created_at, attempts
FROM outbox
WHERE id = $1 AND done_at IS NULL
FOR UPDATE SKIP LOCKED;

-- name: mark_done
UPDATE outbox SET done_at = now(), last_error = NULL WHERE id = $1;

-- name: record_failure
UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1;

-- name: pending_events
-- Events not done whose dispatch is missing or stale; rows a worker is processing are skipped. The API
-- dispatches right after commit without marking the row (that would cost a round trip per write), so
-- an undispatched event gets a few seconds' grace first, as does one marked by a sweep whose worker has died
-- since (it may have died before its jobs reached Redis; $4 are the live workers). An event that failed 25 times
-- is left, with its last_error, for a person to look at.
SELECT id
FROM outbox
WHERE done_at IS NULL
  AND attempts < 25
  AND (dispatched_at < now() - $1::interval
       OR (dispatched_at IS NULL AND created_at <= now() - $3::interval)
       OR (dispatched_by <> ALL($4::text[]) AND dispatched_at <= now() - $3::interval))
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: mark_dispatched
UPDATE outbox SET dispatched_at = now(), dispatched_by = $2 WHERE id = ANY($1::bigint[]) AND done_at IS NULL;

-- name: pending_topics
-- Which of a job's events are still to do, and their topics (no lock: the batch claims them).
SELECT id, topic FROM outbox WHERE id = ANY($1::bigint[]) AND done_at IS NULL;

-- name: claim_events
-- Claims a batch of events for this transaction, locked in id order; rows done or held by another worker are
-- left out. They are marked done at once (one statement, not a lock and then an update): should the batch
-- fail, its transaction rolls the mark back with everything else.
UPDATE outbox SET done_at = now(), last_error = NULL
WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1::bigint[]) AND done_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED)
RETURNING id, topic, organisation_id, subject, payload, created_at, attempts;

-- name: undone_events
SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id;
