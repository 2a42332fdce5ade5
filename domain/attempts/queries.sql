-- name: attempt_context
-- The enrolment, locked so that attempts at it are counted exactly by store_attempt; its version; the latest
-- standing attempt at the unit $4 (store_attempt checks it is still the latest); whether the assessor ($5) may
-- assess at this provider. The version's content only when the caller does not hold it ($6: the version whose
-- specifications it keeps; a published version never changes). Two forms, this one and
-- attempt_context_with_usage, rather than parameters that switch parts off: PostgreSQL then keeps one generic
-- plan of each instead of planning every execution anew.
SELECT e.version_id, e.unit_key AS enrolled_unit, v.design_id, v.number, v.status = 'published' AS published,
       CASE WHEN v.id IS DISTINCT FROM $6::uuid OR v.status <> 'published' THEN v.content END AS content,
       NULL::bigint AS attempts_used, latest.id AS latest_id, NULL::jsonb AS latest_submission,
       ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                    AND m.person_id = $5 AND m.roles && ARRAY['assessor', 'admin'])) AS assessor_ok
FROM enrolments e
JOIN design_versions v ON v.id = e.version_id
LEFT JOIN LATERAL (SELECT a.id FROM attempts a
                   WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
                     AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
                   ORDER BY a.created_at DESC, a.id DESC LIMIT 1) latest ON true
WHERE e.id = $1 AND e.provider_id = $2 AND e.learner_id = $3
FOR UPDATE OF e;

-- name: attempt_context_with_usage
-- attempt_context with the standing attempts at the unit (for a unit with a maximum, checked early; store_attempt
-- counts them again, exactly) and the latest standing attempt's submission (simulation runs accumulate).
SELECT e.version_id, e.unit_key AS enrolled_unit, v.design_id, v.number, v.status = 'published' AS published,
       CASE WHEN v.id IS DISTINCT FROM $6::uuid OR v.status <> 'published' THEN v.content END AS content,
       (SELECT count(*) FROM attempts a
        WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
          AND a.corrects_attempt_id IS NULL) AS attempts_used,
       latest.id AS latest_id, latest.submission AS latest_submission,
       ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                    AND m.person_id = $5 AND m.roles && ARRAY['assessor', 'admin'])) AS assessor_ok
FROM enrolments e
JOIN design_versions v ON v.id = e.version_id
LEFT JOIN LATERAL (SELECT a.id, a.submission FROM attempts a
                   WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
                     AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
                   ORDER BY a.created_at DESC, a.id DESC LIMIT 1) latest ON true
WHERE e.id = $1 AND e.provider_id = $2 AND e.learner_id = $3
FOR UPDATE OF e;

-- name: store_attempt
-- The attempt, its two outbox events (attempt.recorded, then $25) and its audit entry ($27: the action, or none),
-- by the function store_attempt (migrations/20261124000015_store_attempt_function.sql says what it checks and
-- returns). $31 false: attempt_context locked the enrolment in this transaction, and the function's later
-- snapshot sees every attempt at the unit committed before — attempt_context's own snapshot, taken before it
-- waited for the lock, may not have: the latest standing attempt must still be $24, or nothing is written,
-- fresh is false, and the caller reads the context again and decides anew. $31 true: the function locks and
-- checks the enrolment itself (record_known: one round trip). The standing attempts are counted there, exactly,
-- for the attempt's number and the maximum ($23; a correction, $16, keeps the number $7 and has no maximum).
SELECT known, fresh, within_limit, used, id, attempt_number, created_at, event_ids
FROM store_attempt($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                   $22, $23, $24, $25, $26, $27, $28, $29, $30, $31);

-- name: select_attempts
SELECT a.id, a.provider_id, a.learner_id, a.enrolment_id, v.design_id AS programme_id, v.number AS version_number,
       a.unit_key, a.attempt_number, a.assessor_person_id, a.assessed_at, a.place, a.supervision, a.submission,
       a.evidence, a.decision, a.passed, a.corrects_attempt_id, a.correction_reason,
       (SELECT c.id FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected_by, a.source, a.created_at
FROM attempts a JOIN design_versions v ON v.id = a.version_id
WHERE ($1::uuid IS NULL OR a.provider_id = $1)
  AND ($2::uuid IS NULL OR a.id = $2)
  AND ($3::uuid IS NULL OR a.learner_id = $3)
  AND ($4::uuid IS NULL OR v.design_id = $4)
  AND ($5::timestamptz IS NULL OR (a.created_at, a.id) > ($5, $6::uuid))
ORDER BY a.created_at, a.id
LIMIT $7;

-- name: attempt_by_dedupe_key
SELECT id FROM attempts WHERE provider_id = $1 AND dedupe_key = $2;

-- name: lock_attempt
SELECT id, enrolment_id, learner_id, unit_key, attempt_number, assessed_at, supervision, evidence, place,
       assessor_person_id,
       EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected
FROM attempts a WHERE a.id = $1 AND a.provider_id = $2;

-- name: record_attempt_at_once
-- The short way in one round trip (migrations 20261207060000, 20261208000000, 20261211000000): the token's check,
-- the key's lookup, the enrolment's lock and checks, then the attempt, its events, its audit entry and the key's
-- answer.
SELECT * FROM record_attempt_at_once($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                                     $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31);

-- name: record_attempts_at_once
-- record_attempts_at_once: several attempts in one statement (domain/attempts/batching.py); one row per attempt,
-- in the order given. The attempts arrive as one JSON array of arrays, each record_attempt_at_once's parameters but
-- $18 to $20 and $30 (the answer), encoded in one go by the jsonb codec (arrays of other types would cost a round
-- trip on each connection's first use, as asyncpg asks the server about them; the event ids leave as jsonb for the
-- same reason). Only attempts at units without a maximum, and not simulations' runs: the one-at-a-time function
-- counts and checks those.
--
-- Each attempt is checked on its own: its token, its Idempotency-Key, its enrolment (locked, or skipped when another
-- transaction holds it: that attempt is answered as not checking out, and the caller records it the usual way,
-- which waits for the lock on its own) and its assessor. Those that check out are stored, numbered after the latest
-- standing attempt at the learner's unit, one after the other in the order given. The statement's snapshot predates
-- its locks, so an attempt committed in between is not counted: it holds the number already, the unique index
-- attempts_numbers_idx refuses the second (ON CONFLICT DO NOTHING), that attempt comes back with no id and nothing
-- written for it, and the caller records it the usual way, which numbers it under the lock.
--
-- A key keeps its answer by reference (idempotency_keys.record_id, migration 20261213000000): the attempt itself,
-- which never changes, is the answer a retry gets.
--
-- Anything that fails the statement (a key whose original was being written meanwhile: its primary key refuses the
-- second) undoes the whole batch; the caller then records each of its attempts one at a time.
WITH items AS (
    SELECT e.n, (a->>0)::uuid AS id, (a->>1)::uuid AS provider_id, (a->>2)::uuid AS learner_id,
           (a->>3)::uuid AS enrolment_id, (a->>4)::uuid AS version_id, a->>5 AS unit_key,
           (a->>6)::uuid AS assessor_person_id, (a->>7)::timestamptz AS assessed_at, a->>8 AS place,
           a->>9 AS supervision, NULLIF(a->10, 'null') AS submission, NULLIF(a->11, 'null') AS evidence,
           NULLIF(a->12, 'null') AS decision, (a->>13)::boolean AS passed, a->>14 AS source, a->>15 AS client_id,
           (a->>16)::uuid AS person_id, a->>17 AS topic, a->>18 AS subject, a->>19 AS audit_action,
           NULLIF(a->20, 'null') AS payload, a->>21 AS request_id, NULLIF(a->22, 'null') AS audit_details,
           a->>23 AS scope, a->>24 AS key, a->>25 AS fingerprint, a->>26 AS token_jti
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e (a, n)
),
checked AS (  -- each key looked up by its index (LIMIT keeps the subquery apart: the planner, expecting a hundred
               -- attempts where a call holds a few, would otherwise read every key to hash them)
    SELECT i.*, i.token_jti IS NULL OR access_token_live(i.token_jti) AS live, k.fingerprint IS NOT NULL AS replayed,
           k.fingerprint = i.fingerprint AS same_request, k.response AS replayed_response,
           k.record_id AS replayed_record_id
    FROM items i
    LEFT JOIN LATERAL (SELECT k.fingerprint, k.response, k.record_id FROM idempotency_keys k
                       WHERE i.key IS NOT NULL AND k.scope = i.scope AND k.key = i.key LIMIT 1) AS k ON true
),
locked AS (  -- likewise one index lookup each (a subquery that locks is kept apart)
    SELECT e.id, e.provider_id, e.learner_id, e.version_id
    FROM (SELECT DISTINCT c.enrolment_id FROM checked c WHERE c.live AND NOT c.replayed) AS c,
         LATERAL (SELECT e.id, e.provider_id, e.learner_id, e.version_id FROM enrolments e
                  WHERE e.id = c.enrolment_id FOR UPDATE SKIP LOCKED) AS e
),
verdicts AS (
    SELECT c.*, coalesce(
               c.live AND NOT c.replayed AND l.id IS NOT NULL AND l.provider_id = c.provider_id
               AND l.learner_id = c.learner_id AND l.version_id = c.version_id
               AND (c.assessor_person_id IS NULL
                    OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = l.provider_id
                                                         AND m.person_id = c.assessor_person_id
                                                         AND m.roles && ARRAY['assessor', 'admin'])),
               false) AS enrolled
    FROM checked c
    LEFT JOIN locked l ON l.id = c.enrolment_id
),
numbered AS (
    SELECT v.*,
           (coalesce((SELECT max(s.attempt_number) FROM attempts s
                      WHERE s.learner_id = v.learner_id AND s.version_id = v.version_id
                        AND s.unit_key = v.unit_key AND s.corrects_attempt_id IS NULL), 0)
            + row_number() OVER (PARTITION BY v.learner_id, v.version_id, v.unit_key ORDER BY v.n))::integer
           AS attempt_number
    FROM verdicts v
    WHERE v.enrolled
),
a AS (
    INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                          assessor_person_id, assessed_at, place, supervision, submission, evidence, decision,
                          passed, source, recorded_by_client, recorded_by_person, created_at)
    SELECT nb.id, nb.provider_id, nb.learner_id, nb.enrolment_id, nb.version_id, nb.unit_key, nb.attempt_number,
           nb.assessor_person_id, nb.assessed_at, nb.place, nb.supervision, nb.submission, nb.evidence,
           nb.decision, nb.passed, nb.source, nb.client_id, nb.person_id, clock_timestamp()
    FROM numbered nb
    ORDER BY nb.n
    ON CONFLICT DO NOTHING
    RETURNING attempts.id, attempts.attempt_number, attempts.created_at
),
stored AS (
    SELECT nb.*, a.created_at FROM numbered nb JOIN a ON a.id = nb.id
),
events AS (  -- each attempt's two in a row, in the order given; the payload names the attempt
    INSERT INTO outbox (topic, organisation_id, subject, payload)
    SELECT t.topic, s.provider_id, s.subject, s.payload
    FROM stored s, LATERAL (VALUES (1, 'attempt.recorded'), (2, s.topic)) AS t (k, topic)
    ORDER BY s.n, t.k
    RETURNING outbox.id, outbox.payload ->> 'attemptId' AS attempt_id
),
audited AS (
    INSERT INTO audit_log (organisation_id, actor_person_id, actor_client_id, action, target_type, target_id,
                           request_id, details)
    SELECT s.provider_id, s.person_id, s.client_id, s.audit_action, 'attempt', s.id::text, s.request_id,
           s.audit_details
    FROM stored s WHERE s.audit_action IS NOT NULL
    ORDER BY s.n
),
answered AS (  -- without ON CONFLICT: a key stored meanwhile undoes this batch (see above)
    INSERT INTO idempotency_keys (scope, key, fingerprint, record_id)
    SELECT s.scope, s.key, s.fingerprint, s.id FROM stored s WHERE s.key IS NOT NULL
)
-- id NULL where enrolled: a unique index refused that attempt, nothing was stored for it, and the usual way says
-- why (or numbers it)
SELECT v.n, v.replayed, v.same_request, v.replayed_response AS response, v.enrolled AS known, v.enrolled AS fresh,
       v.enrolled AS within_limit, NULL::bigint AS used, s.id, s.attempt_number, s.created_at,
       CASE WHEN s.id IS NOT NULL THEN (SELECT coalesce(jsonb_agg(e.id ORDER BY e.id), '[]') FROM events e
                                        WHERE e.attempt_id = s.id::text) END AS event_ids,
       v.live AS token_live, v.replayed_record_id AS record_id
FROM verdicts v
LEFT JOIN stored s ON s.n = v.n
ORDER BY v.n;
