-- migrate:up

-- Recording an attempt in one round trip, Idempotency-Key included: what store_attempt does with
-- p_lock_enrolment (lock and check the enrolment, then store the attempt, its outbox events and its audit
-- entry), preceded by the key's claim and followed by its stored answer — what domain/writes.py's write() does
-- in three more statements of the usual way. Called as one statement, the function is one transaction.
--
-- The key (p_scope, p_key, p_fingerprint; all NULL without a key) is claimed first. A key already used
-- writes nothing and answers replayed, with whether the fingerprint is the same and the stored answer; a
-- request with the same key still running holds the key's row, so this waits for it and then sees its answer
-- (each statement of a PL/pgSQL function takes a fresh snapshot). When nothing is stored — the enrolment does
-- not check out (known false), the maximum is used up, the latest standing attempt is no longer the one the
-- caller decided after (fresh false) — the claim is withdrawn and the caller takes the usual way, which says
-- what is wrong; a waiting request with the same key then claims it in turn.
--
-- p_response is the answer the caller gives, but for the two fields only the insert knows: the stored answer
-- is it with "attemptNumber" and "createdAt" (UTC, as msgspec writes it) added, exactly what the usual way
-- stores. p_check_fresh: the decision depends on the latest standing attempt (simulation runs accumulate),
-- which the caller believes is p_latest_id (NULL: none).
CREATE FUNCTION record_attempt_at_once(
    p_id uuid, p_provider_id uuid, p_learner_id uuid, p_enrolment_id uuid, p_version_id uuid, p_unit_key text,
    p_assessor_person_id uuid, p_assessed_at timestamptz, p_place text, p_supervision text, p_submission jsonb,
    p_evidence jsonb, p_decision jsonb, p_passed boolean, p_source text, p_client_id text, p_person_id uuid,
    p_limit bigint, p_check_fresh boolean, p_latest_id uuid, p_topic text, p_subject text, p_audit_action text,
    p_payload jsonb, p_request_id text, p_audit_details jsonb, p_scope text, p_key text, p_fingerprint text,
    p_response jsonb
) RETURNS TABLE (
    replayed boolean, same_request boolean, response jsonb, known boolean, fresh boolean, within_limit boolean,
    used bigint, id uuid, attempt_number integer, created_at timestamptz, event_ids bigint[]
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_used bigint;
    v_latest uuid;
    v_id uuid;
    v_number integer;
    v_created timestamptz;
    v_events bigint[];
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES (p_scope, p_key, p_fingerprint)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY
            SELECT true, k.fingerprint = p_fingerprint, k.response, NULL::boolean, NULL::boolean, NULL::boolean,
                   NULL::bigint, NULL::uuid, NULL::integer, NULL::timestamptz, NULL::bigint[]
            FROM idempotency_keys k WHERE k.scope = p_scope AND k.key = p_key;
            IF FOUND THEN
                RETURN;
            END IF;
            -- the key's holder withdrew it between the two statements: nothing stored, the usual way decides
            RETURN QUERY SELECT false, NULL::boolean, NULL::jsonb, false, false, false, NULL::bigint, NULL::uuid,
                                NULL::integer, NULL::timestamptz, NULL::bigint[];
            RETURN;
        END IF;
    END IF;

    PERFORM 1
    FROM enrolments e
    WHERE e.id = p_enrolment_id AND e.provider_id = p_provider_id AND e.learner_id = p_learner_id
      AND e.version_id = p_version_id
      AND (p_assessor_person_id IS NULL
           OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                                AND m.person_id = p_assessor_person_id
                                                AND m.roles && ARRAY['assessor', 'admin']))
    FOR UPDATE OF e;
    IF NOT FOUND THEN
        DELETE FROM idempotency_keys k WHERE p_key IS NOT NULL AND k.scope = p_scope AND k.key = p_key;
        RETURN QUERY SELECT false, NULL::boolean, NULL::jsonb, false, false, false, NULL::bigint, NULL::uuid,
                            NULL::integer, NULL::timestamptz, NULL::bigint[];
        RETURN;
    END IF;

    -- Under the enrolment's lock, in a snapshot taken after it was granted: exact counts.
    IF p_limit IS NOT NULL THEN
        SELECT count(*) INTO v_used FROM attempts s
        WHERE s.learner_id = p_learner_id AND s.version_id = p_version_id AND s.unit_key = p_unit_key
          AND s.corrects_attempt_id IS NULL;
    END IF;
    IF p_check_fresh THEN
        SELECT l.id INTO v_latest FROM attempts l
        WHERE l.learner_id = p_learner_id AND l.version_id = p_version_id AND l.unit_key = p_unit_key
          AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = l.id)
        ORDER BY l.created_at DESC, l.id DESC LIMIT 1;
    END IF;
    IF (p_limit IS NOT NULL AND v_used >= p_limit)
       OR (p_check_fresh AND v_latest IS DISTINCT FROM p_latest_id) THEN
        DELETE FROM idempotency_keys k WHERE p_key IS NOT NULL AND k.scope = p_scope AND k.key = p_key;
        RETURN QUERY SELECT false, NULL::boolean, NULL::jsonb, true,
                            NOT p_check_fresh OR v_latest IS NOT DISTINCT FROM p_latest_id,
                            p_limit IS NULL OR v_used < p_limit, v_used, NULL::uuid, NULL::integer,
                            NULL::timestamptz, NULL::bigint[];
        RETURN;
    END IF;

    WITH a AS (
        INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                              assessor_person_id, assessed_at, place, supervision, submission, evidence, decision,
                              passed, source, recorded_by_client, recorded_by_person, created_at)
        SELECT p_id, p_provider_id, p_learner_id, p_enrolment_id, p_version_id, p_unit_key,
               coalesce(v_used, (SELECT count(*) FROM attempts s
                                 WHERE s.learner_id = p_learner_id AND s.version_id = p_version_id
                                   AND s.unit_key = p_unit_key AND s.corrects_attempt_id IS NULL))::integer + 1,
               p_assessor_person_id, p_assessed_at, p_place, p_supervision, p_submission, p_evidence, p_decision,
               p_passed, p_source, p_client_id, p_person_id, clock_timestamp()
        ON CONFLICT DO NOTHING
        RETURNING attempts.id, attempts.attempt_number, attempts.created_at
    ),
    events AS (
        INSERT INTO outbox (topic, organisation_id, subject, payload)
        SELECT t.topic, p_provider_id, p_subject, p_payload
        FROM a, (VALUES (1, 'attempt.recorded'), (2, p_topic)) AS t (n, topic)
        ORDER BY t.n
        RETURNING outbox.id
    ),
    audited AS (
        INSERT INTO audit_log (organisation_id, actor_person_id, actor_client_id, action, target_type, target_id,
                               request_id, details)
        SELECT p_provider_id, p_person_id, p_client_id, p_audit_action, 'attempt', a.id::text, p_request_id,
               p_audit_details
        FROM a WHERE p_audit_action IS NOT NULL
    ),
    answered AS (
        UPDATE idempotency_keys k
        SET response = p_response || jsonb_build_object(
            'attemptNumber', a.attempt_number,
            'createdAt', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        FROM a WHERE p_key IS NOT NULL AND k.scope = p_scope AND k.key = p_key
    )
    SELECT a.id, a.attempt_number, a.created_at, (SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') FROM events e)
    INTO v_id, v_number, v_created, v_events
    FROM a;
    IF v_id IS NULL THEN  -- a unique constraint refused the attempt: nothing stored, the usual way says why
        DELETE FROM idempotency_keys k WHERE p_key IS NOT NULL AND k.scope = p_scope AND k.key = p_key;
    END IF;

    RETURN QUERY SELECT false, NULL::boolean, NULL::jsonb, true, true, true, v_used, v_id, v_number, v_created,
                        v_events;
END
$$;

-- migrate:down
DROP FUNCTION record_attempt_at_once(
    uuid, uuid, uuid, uuid, uuid, text, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, text, text, uuid,
    bigint, boolean, uuid, text, text, text, jsonb, text, jsonb, text, text, text, jsonb
);
