-- migrate:up

-- Batched recordings in one statement, their keys' answers kept by reference (domain/attempts/queries.sql,
-- record_attempts_at_once; bench/README.md, "Twelfth session").
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

-- The PL/pgSQL function the batched statement replaces.
DROP FUNCTION record_attempts_at_once(
    uuid[], uuid[], uuid[], uuid[], uuid[], text[], uuid[], timestamptz[], text[], text[], jsonb[], jsonb[], jsonb[],
    boolean[], text[], text[], uuid[], text[], text[], text[], jsonb[], text[], jsonb[], text[], text[], text[],
    jsonb[], text[]
);

-- migrate:down
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
