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
-- an undispatched event gets a few seconds' grace first. An event that failed 25 times is left, with
-- its last_error, for a person to look at.
SELECT id
FROM outbox
WHERE done_at IS NULL
  AND attempts < 25
  AND (dispatched_at < now() - $1::interval
       OR (dispatched_at IS NULL AND created_at <= now() - $3::interval))
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: mark_dispatched
UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[]) AND done_at IS NULL;
