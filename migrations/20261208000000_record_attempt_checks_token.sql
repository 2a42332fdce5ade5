-- migrate:up

-- The access token's check joins the recording's one round trip. A client's token stands for what its row says
-- (its client, organisation and scopes never change), so the API keeps the principal of a client token it has
-- checked once and, on the recording route, no longer asks PostgreSQL before the request runs: it passes the
-- token's jti as p_token_jti, and the function confirms, before anything else, that the token is still live —
-- not revoked, its client not disabled, not expired (access_token_live, which token_principal and the usual way's
-- check use too: what "live" means is said once). A dead token
-- writes nothing and answers token_live false (the API answers 401). p_token_jti NULL: checked already. As
-- before, the stored answer is p_response with "attemptNumber" and "createdAt" set by the insert (jsonb ||
-- replaces them): the caller sends placeholders there.
--
-- The attempt's number no longer counts the learner's earlier attempts at the unit (a scan of all of them, every
-- one a heap fetch: a learner with hundreds of simulator runs made each recording slower than the last) but
-- takes the highest number so far from attempts_numbers_idx, one index entry. The two are the same: a learner's
-- attempts at a unit are numbered 1, 2, 3… (by a count under the enrolment's lock, or the highest number plus
-- one), and a correction keeps its attempt's number (and is left out here, as from the count). With a maximum
-- of attempts the count is still read, as the maximum is about attempts used.
CREATE FUNCTION access_token_live(p_jti text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
                   WHERE t.jti = p_jti AND t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now())
$$;

CREATE INDEX attempts_numbers_idx ON attempts (learner_id, version_id, unit_key, attempt_number)
    WHERE corrects_attempt_id IS NULL;

-- An attempt's enrolment, learner, provider and programme version are one fact: they are its enrolment's (the
-- recording ways check it; enrolments are never changed). One foreign key now says so where four checked each
-- alone, each taking a key-share lock on its row — the provider's and the programme version's shared by every
-- concurrent recording, so a multixact each time. pgbench on the recording function, CPU-bound: a tenth more
-- calls per second. The enrolment's own foreign keys still tie it to the learner, provider and version.
CREATE UNIQUE INDEX enrolments_identity_idx ON enrolments (id, learner_id, provider_id, version_id);
ALTER TABLE attempts
    DROP CONSTRAINT attempts_provider_id_fkey,
    DROP CONSTRAINT attempts_learner_id_fkey,
    DROP CONSTRAINT attempts_enrolment_id_fkey,
    DROP CONSTRAINT attempts_version_id_fkey,
    ADD CONSTRAINT attempts_enrolment_fkey FOREIGN KEY (enrolment_id, learner_id, provider_id, version_id)
        REFERENCES enrolments (id, learner_id, provider_id, version_id);
DROP FUNCTION record_attempt_at_once(
    uuid, uuid, uuid, uuid, uuid, text, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, text, text, uuid,
    bigint, boolean, uuid, text, text, text, jsonb, text, jsonb, text, text, text, jsonb
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
    used bigint, id uuid, attempt_number integer, created_at timestamptz, event_ids bigint[],
    token_live boolean
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

DROP INDEX attempts_numbers_idx;

ALTER TABLE attempts
    DROP CONSTRAINT attempts_enrolment_fkey,
    ADD CONSTRAINT attempts_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES organisations (id),
    ADD CONSTRAINT attempts_learner_id_fkey FOREIGN KEY (learner_id) REFERENCES learners (id),
    ADD CONSTRAINT attempts_enrolment_id_fkey FOREIGN KEY (enrolment_id) REFERENCES enrolments (id),
    ADD CONSTRAINT attempts_version_id_fkey FOREIGN KEY (version_id) REFERENCES design_versions (id);
DROP INDEX enrolments_identity_idx;
DROP FUNCTION access_token_live(text);
