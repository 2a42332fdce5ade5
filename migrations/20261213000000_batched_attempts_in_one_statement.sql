-- migrate:up

-- Batched recordings in one statement, their keys' answers kept by reference (domain/attempts/batching.py;
-- bench/README.md, "Twelfth session").
--
-- An attempt's number is unique among the standing attempts at a learner's unit (a correction carries the number of
-- the attempt it corrects). Every way of recording numbered under the enrolment's lock, so this held; now the
-- database says so too, and the batched statement leans on it: it numbers from a snapshot taken before its locks,
-- so an attempt committed in between holds the number first and this index refuses the second (ON CONFLICT DO
-- NOTHING), which is then recorded the usual way.
DROP INDEX attempts_numbers_idx;
CREATE UNIQUE INDEX attempts_numbers_idx ON attempts (learner_id, version_id, unit_key, attempt_number)
    WHERE corrects_attempt_id IS NULL;

-- The answer to a key can be the record its write created, by id, instead of a copy of it: an attempt never changes
-- (attempts_append_only), so the attempt as stored is the answer a retry gets, and it is not written twice. The
-- attempts' service renders it (domain/attempts/service.py); response stays NULL on such a row.
ALTER TABLE idempotency_keys ADD COLUMN record_id uuid;

-- The batch's function: one statement where there were two (the second under the locks), its keys kept by reference.
DROP FUNCTION record_attempts_at_once(
    uuid[], uuid[], uuid[], uuid[], uuid[], text[], uuid[], timestamptz[], text[], text[], jsonb[], jsonb[], jsonb[],
    boolean[], text[], text[], uuid[], text[], text[], text[], jsonb[], text[], jsonb[], text[], text[], text[],
    jsonb[], text[]
);

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
-- A key keeps its answer by reference (idempotency_keys.record_id, above): the attempt itself,
-- which never changes, is the answer a retry gets.
--
-- Anything that fails the statement (a key whose original was being written meanwhile: its primary key refuses the
-- second) undoes the whole batch; the caller then records each of its attempts one at a time.
--
-- A PL/pgSQL function whose body is the one statement, so that each backend plans it once: through PgBouncer in
-- transaction mode (DB_STATEMENT_CACHE_SIZE=0) a statement sent as such would be planned on every call, about a
-- millisecond for this one.
CREATE FUNCTION record_attempts_at_once(p_attempts jsonb) RETURNS TABLE (
    n bigint, replayed boolean, same_request boolean, response jsonb, known boolean, fresh boolean,
    within_limit boolean, used bigint, id uuid, attempt_number integer, created_at timestamptz, event_ids jsonb,
    token_live boolean, record_id uuid
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH items AS (
        SELECT e.n, (a->>0)::uuid AS id, (a->>1)::uuid AS provider_id, (a->>2)::uuid AS learner_id,
               (a->>3)::uuid AS enrolment_id, (a->>4)::uuid AS version_id, a->>5 AS unit_key,
               (a->>6)::uuid AS assessor_person_id, (a->>7)::timestamptz AS assessed_at, a->>8 AS place,
               a->>9 AS supervision, NULLIF(a->10, 'null') AS submission, NULLIF(a->11, 'null') AS evidence,
               NULLIF(a->12, 'null') AS decision, (a->>13)::boolean AS passed, a->>14 AS source, a->>15 AS client_id,
               (a->>16)::uuid AS person_id, a->>17 AS topic, a->>18 AS subject, a->>19 AS audit_action,
               NULLIF(a->20, 'null') AS payload, a->>21 AS request_id, NULLIF(a->22, 'null') AS audit_details,
               a->>23 AS scope, a->>24 AS key, a->>25 AS fingerprint, a->>26 AS token_jti
        FROM jsonb_array_elements(p_attempts) WITH ORDINALITY AS e (a, n)
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
END
$$;

-- migrate:down
DROP FUNCTION record_attempts_at_once(jsonb);

ALTER TABLE idempotency_keys DROP COLUMN record_id;

DROP INDEX attempts_numbers_idx;
CREATE INDEX attempts_numbers_idx ON attempts (learner_id, version_id, unit_key, attempt_number)
    WHERE corrects_attempt_id IS NULL;

-- record_attempts_at_once as migration 20261212000000 created it.
CREATE FUNCTION record_attempts_at_once(
    p_id uuid[], p_provider_id uuid[], p_learner_id uuid[], p_enrolment_id uuid[], p_version_id uuid[],
    p_unit_key text[], p_assessor_person_id uuid[], p_assessed_at timestamptz[], p_place text[], p_supervision text[],
    p_submission jsonb[], p_evidence jsonb[], p_decision jsonb[], p_passed boolean[], p_source text[],
    p_client_id text[], p_person_id uuid[], p_topic text[], p_subject text[], p_audit_action text[],
    p_payload jsonb[], p_request_id text[], p_audit_details jsonb[], p_scope text[], p_key text[],
    p_fingerprint text[], p_response jsonb[], p_token_jti text[]
) RETURNS TABLE (
    n bigint, replayed boolean, same_request boolean, response jsonb, known boolean, fresh boolean,
    within_limit boolean, used bigint, id uuid, attempt_number integer, created_at timestamptz, event_ids bigint[],
    token_live boolean
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    v_live boolean[];
    v_replayed boolean[];
    v_same boolean[];
    v_response jsonb[];
    v_enrolled boolean[];
BEGIN
    WITH items AS (
        SELECT *
        FROM unnest(p_provider_id, p_learner_id, p_enrolment_id, p_version_id, p_assessor_person_id, p_scope, p_key,
                    p_fingerprint, p_token_jti)
             WITH ORDINALITY AS i (provider_id, learner_id, enrolment_id, version_id, assessor_person_id, scope, key,
                                   fingerprint, token_jti, n)
    ),
    checked AS (
        SELECT i.*, i.token_jti IS NULL OR access_token_live(i.token_jti) AS live, k.scope IS NOT NULL AS replayed,
               k.fingerprint = i.fingerprint AS same_request, k.response
        FROM items i
        LEFT JOIN idempotency_keys k ON i.key IS NOT NULL AND k.scope = i.scope AND k.key = i.key
    ),
    locked AS (
        SELECT e.id, e.provider_id, e.learner_id, e.version_id
        FROM enrolments e
        WHERE e.id IN (SELECT c.enrolment_id FROM checked c WHERE c.live AND NOT c.replayed)
        FOR UPDATE OF e SKIP LOCKED
    )
    SELECT array_agg(c.live ORDER BY c.n), array_agg(c.replayed ORDER BY c.n), array_agg(c.same_request ORDER BY c.n),
           array_agg(c.response ORDER BY c.n),
           array_agg(coalesce(
               c.live AND NOT c.replayed AND l.id IS NOT NULL AND l.provider_id = c.provider_id
               AND l.learner_id = c.learner_id AND l.version_id = c.version_id
               AND (c.assessor_person_id IS NULL
                    OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = l.provider_id
                                                         AND m.person_id = c.assessor_person_id
                                                         AND m.roles && ARRAY['assessor', 'admin'])),
               false) ORDER BY c.n)
    INTO v_live, v_replayed, v_same, v_response, v_enrolled
    FROM checked c
    LEFT JOIN locked l ON l.id = c.enrolment_id;

    -- Under the enrolments' locks, in a snapshot taken after they were granted: exact numbers.
    RETURN QUERY
    WITH items AS (
        SELECT *
        FROM unnest(p_id, p_provider_id, p_learner_id, p_enrolment_id, p_version_id, p_unit_key, p_assessor_person_id,
                    p_assessed_at, p_place, p_supervision, p_submission, p_evidence, p_decision, p_passed, p_source,
                    p_client_id, p_person_id, p_topic, p_subject, p_audit_action, p_payload, p_request_id,
                    p_audit_details, p_scope, p_key, p_fingerprint, p_response, v_enrolled)
             WITH ORDINALITY AS i (id, provider_id, learner_id, enrolment_id, version_id, unit_key, assessor_person_id,
                                   assessed_at, place, supervision, submission, evidence, decision, passed, source,
                                   client_id, person_id, topic, subject, audit_action, payload, request_id,
                                   audit_details, scope, key, fingerprint, response, enrolled, n)
    ),
    numbered AS (
        SELECT i.*,
               (coalesce((SELECT max(s.attempt_number) FROM attempts s
                          WHERE s.learner_id = i.learner_id AND s.version_id = i.version_id
                            AND s.unit_key = i.unit_key AND s.corrects_attempt_id IS NULL), 0)
                + row_number() OVER (PARTITION BY i.learner_id, i.version_id, i.unit_key ORDER BY i.n))::integer
               AS attempt_number
        FROM items i
        WHERE i.enrolled
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
        INSERT INTO idempotency_keys (scope, key, fingerprint, response)
        SELECT s.scope, s.key, s.fingerprint, s.response || jsonb_build_object(
            'attemptNumber', s.attempt_number,
            'createdAt', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        FROM stored s WHERE s.key IS NOT NULL
    )
    SELECT c.n, c.replayed, c.same_request, c.response, c.enrolled, c.enrolled, c.enrolled, NULL::bigint, s.id,
           s.attempt_number, s.created_at,
           CASE WHEN s.id IS NOT NULL THEN (SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') FROM events e
                                            WHERE e.attempt_id = s.id::text) END,
           c.live
    FROM unnest(v_live, v_replayed, v_same, v_response, v_enrolled) WITH ORDINALITY
         AS c (live, replayed, same_request, response, enrolled, n)
    LEFT JOIN stored s ON s.n = c.n
    ORDER BY c.n;
    -- id NULL where enrolled: a unique constraint refused that attempt, nothing was stored for it, and the usual
    -- way says why
END
$$;
