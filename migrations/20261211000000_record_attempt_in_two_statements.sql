-- migrate:up

-- record_attempt_at_once ran up to six statements per recording, each paying the executor's start-up (15% of
-- PostgreSQL's time per recording, perf), and wrote the Idempotency-Key's row twice: claimed before the work and
-- updated with the answer after it. Now a recording is two statements and the key's row is written once:
--
-- 1. The token's check, the key's lookup and the enrolment's lock and checks, in one statement. A key already
--    stored answers its replay. The enrolment is locked only when there is something to record.
-- 2. The attempt, its events, its audit entry and the key's row with its answer, as before in one statement whose
--    snapshot is taken once the enrolment's lock is held: the attempt's number is exact.
--
-- The key is no longer claimed before the work. Two requests with one key meet at its primary key instead: the
-- later one's insert waits for the earlier to commit and then fails with a unique violation, which undoes the
-- whole recording (one statement, its own transaction); the API then takes the usual way, which replays the stored
-- answer. A key seen in the first statement answers at once, so this happens only to a retry sent while its
-- original is still being written.
--
-- The result is one row of OUT parameters (the same columns as before), set without a statement of its own.
DROP FUNCTION record_attempt_at_once(
    uuid, uuid, uuid, uuid, uuid, text, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, text, text, uuid,
    bigint, boolean, uuid, text, text, text, jsonb, text, jsonb, text, text, text, jsonb, text
);

CREATE FUNCTION record_attempt_at_once(
    p_id uuid, p_provider_id uuid, p_learner_id uuid, p_enrolment_id uuid, p_version_id uuid, p_unit_key text,
    p_assessor_person_id uuid, p_assessed_at timestamptz, p_place text, p_supervision text, p_submission jsonb,
    p_evidence jsonb, p_decision jsonb, p_passed boolean, p_source text, p_client_id text, p_person_id uuid,
    p_limit bigint, p_check_fresh boolean, p_latest_id uuid, p_topic text, p_subject text, p_audit_action text,
    p_payload jsonb, p_request_id text, p_audit_details jsonb, p_scope text, p_key text, p_fingerprint text,
    p_response jsonb, p_token_jti text,
    OUT replayed boolean, OUT same_request boolean, OUT response jsonb, OUT known boolean, OUT fresh boolean,
    OUT within_limit boolean, OUT used bigint, OUT id uuid, OUT attempt_number integer, OUT created_at timestamptz,
    OUT event_ids bigint[], OUT token_live boolean
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    v_enrolled boolean;
    v_latest uuid;
BEGIN
    replayed := false;
    SELECT t.live, k.scope IS NOT NULL, k.fingerprint = p_fingerprint, k.response,
           CASE WHEN t.live AND k.scope IS NULL THEN EXISTS (
               SELECT 1 FROM enrolments e
               WHERE e.id = p_enrolment_id AND e.provider_id = p_provider_id AND e.learner_id = p_learner_id
                 AND e.version_id = p_version_id
                 AND (p_assessor_person_id IS NULL
                      OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                                           AND m.person_id = p_assessor_person_id
                                                           AND m.roles && ARRAY['assessor', 'admin']))
               FOR UPDATE OF e) END
    INTO token_live, replayed, same_request, response, v_enrolled
    FROM (SELECT p_token_jti IS NULL OR access_token_live(p_token_jti) AS live) t
    LEFT JOIN idempotency_keys k ON p_key IS NOT NULL AND k.scope = p_scope AND k.key = p_key;
    IF NOT token_live OR replayed THEN
        RETURN;
    END IF;
    known := v_enrolled;
    fresh := v_enrolled;
    within_limit := v_enrolled;
    IF NOT v_enrolled THEN
        RETURN;
    END IF;

    -- Under the enrolment's lock, in a snapshot taken after it was granted: exact counts.
    IF p_limit IS NOT NULL THEN
        SELECT count(*) INTO used FROM attempts s
        WHERE s.learner_id = p_learner_id AND s.version_id = p_version_id AND s.unit_key = p_unit_key
          AND s.corrects_attempt_id IS NULL;
        within_limit := used < p_limit;
    END IF;
    IF p_check_fresh THEN
        SELECT l.id INTO v_latest FROM attempts l
        WHERE l.learner_id = p_learner_id AND l.version_id = p_version_id AND l.unit_key = p_unit_key
          AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = l.id)
        ORDER BY l.created_at DESC, l.id DESC LIMIT 1;
        fresh := v_latest IS NOT DISTINCT FROM p_latest_id;
    END IF;
    IF NOT within_limit OR NOT fresh THEN
        RETURN;
    END IF;

    WITH a AS (
        INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                              assessor_person_id, assessed_at, place, supervision, submission, evidence, decision,
                              passed, source, recorded_by_client, recorded_by_person, created_at)
        SELECT p_id, p_provider_id, p_learner_id, p_enrolment_id, p_version_id, p_unit_key,
               coalesce(used, (SELECT max(s.attempt_number) FROM attempts s
                               WHERE s.learner_id = p_learner_id AND s.version_id = p_version_id
                                 AND s.unit_key = p_unit_key AND s.corrects_attempt_id IS NULL), 0)::integer + 1,
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
    answered AS (  -- without ON CONFLICT: a key stored meanwhile undoes this recording (see above)
        INSERT INTO idempotency_keys (scope, key, fingerprint, response)
        SELECT p_scope, p_key, p_fingerprint, p_response || jsonb_build_object(
            'attemptNumber', a.attempt_number,
            'createdAt', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        FROM a WHERE p_key IS NOT NULL
    )
    SELECT a.id, a.attempt_number, a.created_at, (SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') FROM events e)
    INTO id, attempt_number, created_at, event_ids
    FROM a;
    -- id NULL: a unique constraint refused the attempt, nothing was stored, and the usual way says why
END
$$;

-- migrate:down
DROP FUNCTION record_attempt_at_once(
    uuid, uuid, uuid, uuid, uuid, text, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, text, text, uuid,
    bigint, boolean, uuid, text, text, text, jsonb, text, jsonb, text, text, text, jsonb, text
);

CREATE FUNCTION record_attempt_at_once(
    p_id uuid, p_provider_id uuid, p_learner_id uuid, p_enrolment_id uuid, p_version_id uuid, p_unit_key text,
    p_assessor_person_id uuid, p_assessed_at timestamptz, p_place text, p_supervision text, p_submission jsonb,
    p_evidence jsonb, p_decision jsonb, p_passed boolean, p_source text, p_client_id text, p_person_id uuid,
    p_limit bigint, p_check_fresh boolean, p_latest_id uuid, p_topic text, p_subject text, p_audit_action text,
    p_payload jsonb, p_request_id text, p_audit_details jsonb, p_scope text, p_key text, p_fingerprint text,
    p_response jsonb, p_token_jti text
) RETURNS TABLE (
    replayed boolean, same_request boolean, response jsonb, known boolean, fresh boolean, within_limit boolean,
    used bigint, id uuid, attempt_number integer, created_at timestamptz, event_ids bigint[], token_live boolean
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    v_used bigint;
    v_latest uuid;
    v_id uuid;
    v_number integer;
    v_created timestamptz;
    v_events bigint[];
BEGIN
    IF p_token_jti IS NOT NULL AND NOT access_token_live(p_token_jti) THEN
        RETURN QUERY SELECT false, NULL::boolean, NULL::jsonb, NULL::boolean, NULL::boolean, NULL::boolean,
                            NULL::bigint, NULL::uuid, NULL::integer, NULL::timestamptz, NULL::bigint[], false;
        RETURN;
    END IF;
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES (p_scope, p_key, p_fingerprint)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY
            SELECT true, k.fingerprint = p_fingerprint, k.response, NULL::boolean, NULL::boolean, NULL::boolean,
                   NULL::bigint, NULL::uuid, NULL::integer, NULL::timestamptz, NULL::bigint[], true
            FROM idempotency_keys k WHERE k.scope = p_scope AND k.key = p_key;
            IF FOUND THEN
                RETURN;
            END IF;
            -- the key's holder withdrew it between the two statements: nothing stored, the usual way decides
            RETURN QUERY SELECT false, NULL::boolean, NULL::jsonb, false, false, false, NULL::bigint, NULL::uuid,
                                NULL::integer, NULL::timestamptz, NULL::bigint[], true;
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
                            NULL::integer, NULL::timestamptz, NULL::bigint[], true;
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
                            NULL::timestamptz, NULL::bigint[], true;
        RETURN;
    END IF;

    WITH a AS (
        INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                              assessor_person_id, assessed_at, place, supervision, submission, evidence, decision,
                              passed, source, recorded_by_client, recorded_by_person, created_at)
        SELECT p_id, p_provider_id, p_learner_id, p_enrolment_id, p_version_id, p_unit_key,
               coalesce(v_used, (SELECT max(s.attempt_number) FROM attempts s
                                 WHERE s.learner_id = p_learner_id AND s.version_id = p_version_id
                                   AND s.unit_key = p_unit_key AND s.corrects_attempt_id IS NULL), 0)::integer + 1,
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
                        v_events, true;
END
$$;
