-- name: insert_endpoint
INSERT INTO webhook_endpoints (id, organisation_id, url, description, event_types, secret_ciphertext)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: select_endpoints
-- A previous secret whose overlap has ended no longer signs, so it is not shown as still valid.
SELECT id, organisation_id, url, description, event_types, status, failing_since,
       CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS previous_secret_expires_at,
       version, created_at, updated_at
FROM webhook_endpoints
WHERE organisation_id = $1
  AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
  AND ($4::uuid IS NULL OR id = $4)
ORDER BY created_at, id
LIMIT $5;

-- name: endpoint_version
SELECT version FROM webhook_endpoints WHERE organisation_id = $1 AND id = $2;

-- name: update_endpoint
UPDATE webhook_endpoints
SET url = $4, description = $5, event_types = $6, status = $7,
    failing_since = CASE WHEN $7 = 'failing' THEN failing_since END,
    version = version + 1, updated_at = now()
WHERE organisation_id = $1 AND id = $2 AND version = $3
RETURNING id;

-- name: requeue_given_up
-- Re-enabling a failing endpoint: the deliveries that gave up when it turned failing go again, first (they
-- are the earliest of their subjects), with a fresh round of retries.
UPDATE webhook_deliveries
SET status = 'pending', failures = 0, next_attempt_at = now(), completed_at = NULL
WHERE endpoint_id = $1 AND status = 'failed' AND completed_at >= $2;

-- name: delete_endpoint
DELETE FROM webhook_endpoints WHERE organisation_id = $1 AND id = $2 AND version = $3 RETURNING id;

-- name: rotate_secret
-- The current secret becomes the previous one for the overlap (none when the overlap is zero).
UPDATE webhook_endpoints
SET previous_secret_ciphertext = CASE WHEN $4::interval > interval '0' THEN secret_ciphertext END,
    previous_secret_expires_at = CASE WHEN $4::interval > interval '0' THEN now() + $4::interval END,
    secret_ciphertext = $3, version = version + 1, updated_at = now()
WHERE organisation_id = $1 AND id = $2
RETURNING id;

-- name: insert_event_deliveries
-- One delivery per endpoint that subscribes to the event's type and belongs to its audience: the
-- organisations named ($5), and the co-authors of the design $6 when one is given. Disabled endpoints get
-- nothing; failing ones queue up, to go in order once an admin re-enables them.
INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, subject, body)
SELECT e.id, $1, $2, $3, $4
FROM webhook_endpoints e
WHERE $2 = ANY (e.event_types)
  AND e.status <> 'disabled'
  AND (e.organisation_id = ANY ($5::uuid[])
       OR e.organisation_id IN (SELECT c.organisation_id FROM design_coauthors c WHERE c.design_id = $6::uuid))
ORDER BY e.created_at, e.id
ON CONFLICT (endpoint_id, event_id) DO NOTHING;

-- name: insert_ping
INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, subject, body)
VALUES ($1, NULL, $2, 'ping', $3)
RETURNING id;

-- name: select_deliveries
SELECT d.id, 'msg_' || replace(d.id::text, '-', '') AS webhook_id, d.endpoint_id, d.event_type, d.event_id,
       d.subject, d.status, d.attempts, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
       d.last_attempt_at, d.last_response_status, d.last_response_excerpt, d.last_error, d.created_at,
       d.completed_at
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE e.organisation_id = $1 AND d.endpoint_id = $2
  AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4::uuid))
  AND ($5::uuid IS NULL OR d.id = $5)
  AND ($6::text IS NULL OR d.status = $6)
ORDER BY d.created_at DESC, d.id DESC
LIMIT $7;

-- name: select_attempts
SELECT number, attempted_at, duration_ms, succeeded, response_status, response_excerpt, error
FROM webhook_delivery_attempts
WHERE delivery_id = $1
ORDER BY number;

-- name: replay_delivery
UPDATE webhook_deliveries
SET status = 'pending', failures = 0, next_attempt_at = now(), completed_at = NULL
WHERE id = $1 AND status <> 'pending'
RETURNING id;

-- name: due_deliveries
-- Deliveries whose time has come, on enabled endpoints, not held by a worker, and not held back by an
-- earlier pending delivery of the same subject to the same endpoint. Rows a worker is claiming are skipped.
SELECT d.id, d.attempts
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.status = 'pending'
  AND d.next_attempt_at <= now()
  AND (d.leased_until IS NULL OR d.leased_until < now())
  AND e.status = 'enabled'
  AND NOT webhook_delivery_held_back(d.endpoint_id, d.subject, d.event_id)
ORDER BY d.next_attempt_at, d.event_id
LIMIT $1
FOR UPDATE OF d SKIP LOCKED;

-- name: pending_deliveries_of_events
-- What the handling of these (committed) events lets go: the deliveries of their subjects that are due and that
-- nothing earlier holds back (the same conditions as due_deliveries). A held one is handed out later, when what
-- holds it is done: its job would find it held and end, and the release's enqueue of the same job id, while
-- that job still stood in the queue, would be dropped.
SELECT d.id, d.attempts
FROM webhook_deliveries d
WHERE d.subject IN (SELECT subject FROM outbox WHERE id = ANY ($1::bigint[]))
  AND d.status = 'pending'
  AND d.next_attempt_at <= now()
  AND (d.leased_until IS NULL OR d.leased_until < now())
  AND NOT webhook_delivery_held_back(d.endpoint_id, d.subject, d.event_id);

-- name: claim_delivery
-- Takes the delivery for one attempt (the same conditions as due_deliveries); a second claimant finds the
-- lease and gets nothing. A crashed worker's lease runs out and the sweep hands the delivery out again; $4
-- takes over a lease at once (the job is run again because the worker that held it died).
UPDATE webhook_deliveries d
SET lease = $2, leased_until = now() + $3::interval
FROM webhook_endpoints e
WHERE d.id = $1
  AND e.id = d.endpoint_id
  AND e.status = 'enabled'
  AND d.status = 'pending'
  AND d.next_attempt_at <= now()
  AND (d.leased_until IS NULL OR d.leased_until < now() OR $4::boolean)
  AND NOT webhook_delivery_held_back(d.endpoint_id, d.subject, d.event_id)
RETURNING d.id, d.endpoint_id, d.body, e.url, e.secret_ciphertext,
          CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_ciphertext END
              AS previous_secret_ciphertext;

-- name: lock_delivery
SELECT d.id, d.endpoint_id, d.event_id, d.subject, d.attempts, d.failures, d.lease, e.organisation_id
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.id = $1
FOR UPDATE OF d;

-- name: insert_attempt
INSERT INTO webhook_delivery_attempts (delivery_id, number, attempted_at, duration_ms, succeeded, response_status,
                                       response_excerpt, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: count_attempt
-- An attempt whose lease had run out (another worker holds the delivery now): counted, state left alone.
UPDATE webhook_deliveries SET attempts = $2 WHERE id = $1;

-- name: delivery_attempted
-- The outcome of an attempt: $6 the new status, $7 failures in a row, $8 the wait before the next attempt.
UPDATE webhook_deliveries
SET attempts = $2, last_attempt_at = $3, last_response_status = $4, last_response_excerpt = $5, last_error = $9,
    status = $6, failures = $7,
    next_attempt_at = CASE WHEN $6 = 'pending' THEN now() + $8::interval ELSE next_attempt_at END,
    completed_at = CASE WHEN $6 = 'pending' THEN NULL ELSE now() END,
    lease = NULL, leased_until = NULL
WHERE id = $1;

-- name: next_in_subject
-- The delivery a success lets go: the next pending one of the same subject to the same endpoint.
SELECT id, attempts
FROM webhook_deliveries
WHERE endpoint_id = $1 AND subject = $2 AND status = 'pending' AND event_id > $3
ORDER BY event_id
LIMIT 1;

-- name: endpoint_failing
UPDATE webhook_endpoints
SET status = 'failing', failing_since = now(), version = version + 1, updated_at = now()
WHERE id = $1 AND status = 'enabled'
RETURNING id;

-- name: bring_backlog_forward
-- The endpoint answered: what waits there on the backoff of earlier failures is due now (the receiver is back),
-- rather than each delivery on its own old timer. Returns how many were moved.
WITH moved AS (
    UPDATE webhook_deliveries
    SET next_attempt_at = now()
    WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at > now() AND failures > 0
    RETURNING 1
)
SELECT count(*) FROM moved;

-- name: due_of_endpoint
-- The endpoint's deliveries to hand out now (the same conditions as due_deliveries), oldest event first.
SELECT d.id, d.attempts
FROM webhook_deliveries d
WHERE d.endpoint_id = $1
  AND d.status = 'pending'
  AND d.next_attempt_at <= now()
  AND (d.leased_until IS NULL OR d.leased_until < now())
  AND NOT webhook_delivery_held_back(d.endpoint_id, d.subject, d.event_id)
ORDER BY d.event_id
LIMIT $2;
