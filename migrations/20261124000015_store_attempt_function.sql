-- migrate:up

-- Storing an attempt, as one function: what the statement store_attempt did (domain/attempts/queries.sql),
-- and, when p_lock_enrolment is true, first what attempt_context did for it — lock the enrolment, check that
-- it is the provider's and the learner's, still in the version the caller holds the specification of, and
-- that the assessor may assess there. A caller that holds the unit's specification (a published version
-- never changes) then records an attempt in one round trip, in its own transaction, instead of five (BEGIN,
-- context, store, COMMIT). Each statement of a PL/pgSQL function takes a fresh snapshot, so the store below
-- sees every attempt committed before the lock was granted: numbers and maximums stay exact under
-- concurrency, as with the two statements.
--
-- known is false when the locking check fails (nothing is written; the caller takes the long way, which
-- says what is wrong). fresh is false when the latest standing attempt is no longer p_latest_id (the
-- caller's decision may be stale; nothing is written); with p_lock_enrolment the caller's decision does not
-- depend on earlier attempts and freshness is not asked. A conflict (the dedupe key, an attempt already
-- corrected) writes nothing and returns no id. created_at is the insert's time, under the lock.
CREATE FUNCTION store_attempt(
    p_id uuid, p_provider_id uuid, p_learner_id uuid, p_enrolment_id uuid, p_version_id uuid, p_unit_key text,
    p_attempt_number integer, p_assessor_person_id uuid, p_assessed_at timestamptz, p_place text,
    p_supervision text, p_submission jsonb, p_evidence jsonb, p_decision jsonb, p_passed boolean,
    p_corrects_attempt_id uuid, p_correction_reason text, p_source text, p_batch_id uuid, p_dedupe_key text,
    p_client_id text, p_person_id uuid, p_limit bigint, p_latest_id uuid, p_topic text, p_subject text,
    p_audit_action text, p_payload jsonb, p_request_id text, p_audit_details jsonb, p_lock_enrolment boolean
) RETURNS TABLE (
    known boolean, fresh boolean, within_limit boolean, used bigint, id uuid, attempt_number integer,
    created_at timestamptz, event_ids bigint[]
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF p_lock_enrolment THEN
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
            RETURN QUERY SELECT false, false, false, NULL::bigint, NULL::uuid, NULL::integer, NULL::timestamptz,
                                NULL::bigint[];
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    WITH slot AS MATERIALIZED (
        SELECT (SELECT count(*) FROM attempts s
                WHERE s.learner_id = p_learner_id AND s.version_id = p_version_id AND s.unit_key = p_unit_key
                  AND s.corrects_attempt_id IS NULL) AS used,
               (SELECT l.id FROM attempts l
                WHERE l.learner_id = p_learner_id AND l.version_id = p_version_id AND l.unit_key = p_unit_key
                  AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = l.id)
                ORDER BY l.created_at DESC, l.id DESC LIMIT 1) AS latest
    ),
    checked AS MATERIALIZED (
        SELECT s.used,
               p_corrects_attempt_id IS NOT NULL OR p_limit IS NULL OR s.used < p_limit AS within_limit,
               p_lock_enrolment OR s.latest IS NOT DISTINCT FROM p_latest_id AS fresh
        FROM slot s
    ),
    a AS (
        INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                              assessor_person_id, assessed_at, place, supervision, submission, evidence, decision,
                              passed, corrects_attempt_id, correction_reason, source, batch_id, dedupe_key,
                              recorded_by_client, recorded_by_person, created_at)
        SELECT p_id, p_provider_id, p_learner_id, p_enrolment_id, p_version_id, p_unit_key,
               coalesce(p_attempt_number, k.used::integer + 1), p_assessor_person_id, p_assessed_at, p_place,
               p_supervision, p_submission, p_evidence, p_decision, p_passed, p_corrects_attempt_id,
               p_correction_reason, p_source, p_batch_id, p_dedupe_key, p_client_id, p_person_id, clock_timestamp()
        FROM checked k WHERE k.within_limit AND k.fresh
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
    )
    SELECT true, k.fresh, k.within_limit, k.used, a.id, a.attempt_number, a.created_at,
           (SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') FROM events e)
    FROM checked k LEFT JOIN a ON true;
END
$$;

-- migrate:down
DROP FUNCTION store_attempt(
    uuid, uuid, uuid, uuid, uuid, text, integer, uuid, timestamptz, text, text, jsonb, jsonb, jsonb, boolean, uuid,
    text, text, uuid, text, text, uuid, bigint, uuid, text, text, text, jsonb, text, jsonb, boolean
);
