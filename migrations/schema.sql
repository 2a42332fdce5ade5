CREATE FUNCTION public.access_token_live(p_jti text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
                   WHERE t.jti = p_jti AND t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now());
END
$$;

CREATE FUNCTION public.attempts_are_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('guildhall.erasure', true) = 'on'
       AND to_jsonb(NEW) - ARRAY['submission', 'evidence'] = to_jsonb(OLD) - ARRAY['submission', 'evidence'] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'attempts are append-only: record a correction instead';
END $$;

CREATE FUNCTION public.audit_log_is_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;

CREATE FUNCTION public.design_versions_published_are_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'design version % is published and cannot change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION public.occupational_profile_versions_are_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'occupational profile version % cannot change; add a new version', OLD.id
        USING ERRCODE = 'check_violation';
END $$;

CREATE FUNCTION public.record_attempt_at_once(p_id uuid, p_provider_id uuid, p_learner_id uuid, p_enrolment_id uuid, p_version_id uuid, p_unit_key text, p_assessor_person_id uuid, p_assessed_at timestamp with time zone, p_place text, p_supervision text, p_submission jsonb, p_evidence jsonb, p_decision jsonb, p_passed boolean, p_source text, p_client_id text, p_person_id uuid, p_limit bigint, p_check_fresh boolean, p_latest_id uuid, p_topic text, p_subject text, p_audit_action text, p_payload jsonb, p_request_id text, p_audit_details jsonb, p_scope text, p_key text, p_fingerprint text, p_response jsonb, p_token_jti text, OUT replayed boolean, OUT same_request boolean, OUT response jsonb, OUT known boolean, OUT fresh boolean, OUT within_limit boolean, OUT used bigint, OUT id uuid, OUT attempt_number integer, OUT created_at timestamp with time zone, OUT event_ids bigint[], OUT token_live boolean) RETURNS record
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

CREATE FUNCTION public.record_attempts_at_once(p_attempts jsonb) RETURNS TABLE(n bigint, replayed boolean, same_request boolean, response jsonb, known boolean, fresh boolean, within_limit boolean, used bigint, id uuid, attempt_number integer, created_at timestamp with time zone, event_ids jsonb, token_live boolean, record_id uuid)
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.store_attempt(p_id uuid, p_provider_id uuid, p_learner_id uuid, p_enrolment_id uuid, p_version_id uuid, p_unit_key text, p_attempt_number integer, p_assessor_person_id uuid, p_assessed_at timestamp with time zone, p_place text, p_supervision text, p_submission jsonb, p_evidence jsonb, p_decision jsonb, p_passed boolean, p_corrects_attempt_id uuid, p_correction_reason text, p_source text, p_batch_id uuid, p_dedupe_key text, p_client_id text, p_person_id uuid, p_limit bigint, p_latest_id uuid, p_topic text, p_subject text, p_audit_action text, p_payload jsonb, p_request_id text, p_audit_details jsonb, p_lock_enrolment boolean) RETURNS TABLE(known boolean, fresh boolean, within_limit boolean, used bigint, id uuid, attempt_number integer, created_at timestamp with time zone, event_ids bigint[])
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.webhook_delivery_held_back(uuid, text, bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $_$
BEGIN
    RETURN EXISTS (SELECT 1 FROM webhook_deliveries earlier
                   WHERE earlier.endpoint_id = $1 AND earlier.subject = $2
                     AND earlier.status = 'pending' AND earlier.event_id < $3)
        OR EXISTS (SELECT 1 FROM outbox o
                   WHERE o.subject = $2 AND o.id < $3 AND o.done_at IS NULL AND o.attempts < 25);
END
$_$;

CREATE TABLE public.accreditations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organisation_id uuid NOT NULL,
    accrediting_organisation_id uuid,
    accrediting_body_name text NOT NULL,
    scope text NOT NULL,
    reference text,
    valid_from date NOT NULL,
    valid_until date,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    withdrawn_at timestamp with time zone,
    CONSTRAINT accreditations_check CHECK (((valid_until IS NULL) OR (valid_until >= valid_from)))
);

CREATE TABLE public.attempts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider_id uuid NOT NULL,
    learner_id uuid NOT NULL,
    enrolment_id uuid NOT NULL,
    version_id uuid NOT NULL,
    unit_key text NOT NULL,
    attempt_number integer NOT NULL,
    assessor_person_id uuid,
    assessed_at timestamp with time zone NOT NULL,
    place text,
    supervision text,
    submission jsonb NOT NULL,
    evidence jsonb DEFAULT '[]'::jsonb NOT NULL,
    decision jsonb NOT NULL,
    passed boolean NOT NULL,
    corrects_attempt_id uuid,
    correction_reason text,
    source text NOT NULL,
    batch_id uuid,
    dedupe_key text,
    recorded_by_client text,
    recorded_by_person uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT attempts_check CHECK (((corrects_attempt_id IS NULL) = (correction_reason IS NULL))),
    CONSTRAINT attempts_source_check CHECK ((source = ANY (ARRAY['api'::text, 'bulk'::text, 'xapi'::text, 'prior_learning'::text])))
);

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    organisation_id uuid,
    actor_person_id uuid,
    actor_client_id text,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text NOT NULL,
    request_id text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL
);

ALTER TABLE public.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.credential_nonces (
    nonce_hash text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.credential_offer_deliveries (
    id bigint NOT NULL,
    offer_id uuid NOT NULL,
    credential_id uuid NOT NULL,
    configuration_id text NOT NULL,
    holder text NOT NULL,
    delivered_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.credential_offer_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.credential_offer_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.credential_offers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    credential_ids uuid[] NOT NULL,
    configuration_ids text[] NOT NULL,
    pre_authorized_code_hash text NOT NULL,
    tx_code_hash text NOT NULL,
    tx_code_failures integer DEFAULT 0 NOT NULL,
    issuer_state_hash text NOT NULL,
    offer_sealed bytea NOT NULL,
    created_by_client text NOT NULL,
    created_by_person uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    redeemed_at timestamp with time zone,
    access_token_jti text,
    access_token_expires_at timestamp with time zone,
    access_token_revoked_at timestamp with time zone,
    CONSTRAINT credential_offers_check CHECK (((redeemed_at IS NULL) = (access_token_jti IS NULL))),
    CONSTRAINT credential_offers_configuration_ids_check CHECK (((cardinality(configuration_ids) >= 1) AND (cardinality(configuration_ids) <= 3))),
    CONSTRAINT credential_offers_credential_ids_check CHECK (((cardinality(credential_ids) >= 1) AND (cardinality(credential_ids) <= 20)))
);

CREATE TABLE public.credential_proofs (
    credential_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    kid text NOT NULL,
    proof jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.credential_signatures (
    credential_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    role text NOT NULL,
    kid text NOT NULL,
    protected text NOT NULL,
    signature text NOT NULL,
    signed_at timestamp with time zone DEFAULT now() NOT NULL,
    signed_by_person uuid,
    signed_by_client text,
    withdrawn_at timestamp with time zone,
    withdrawal_reason text,
    CONSTRAINT credential_signatures_role_check CHECK ((role = ANY (ARRAY['issuer'::text, 'cosigner'::text])))
);

CREATE TABLE public.credentials (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kind text NOT NULL,
    issuance_key text NOT NULL,
    learner_id uuid NOT NULL,
    provider_id uuid NOT NULL,
    awarding_body_id uuid NOT NULL,
    cosigner_id uuid,
    design_id uuid NOT NULL,
    version_id uuid NOT NULL,
    unit_key text,
    attempt_id uuid,
    stands_on uuid[] DEFAULT '{}'::uuid[] NOT NULL,
    state text NOT NULL,
    suspended boolean DEFAULT false NOT NULL,
    payload bytea,
    status_number integer,
    status_index integer,
    issued_at timestamp with time zone,
    valid_until timestamp with time zone,
    replaces_credential_id uuid,
    renews_credential_id uuid,
    revoked_at timestamp with time zone,
    revocation_reason text,
    suspended_at timestamp with time zone,
    suspension_reason text,
    cosign_refused_at timestamp with time zone,
    cosign_refusal_reason text,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT credentials_check CHECK (((state = 'held'::text) = (payload IS NULL))),
    CONSTRAINT credentials_check1 CHECK (((state <> 'revoked'::text) OR (revocation_reason IS NOT NULL))),
    CONSTRAINT credentials_kind_check CHECK ((kind = ANY (ARRAY['unit'::text, 'programme'::text, 'qualification'::text]))),
    CONSTRAINT credentials_state_check CHECK ((state = ANY (ARRAY['held'::text, 'awaiting_cosignature'::text, 'issued'::text, 'cosign_refused'::text, 'revoked'::text])))
);

CREATE TABLE public.design_approvals (
    version_id uuid NOT NULL,
    approval_round integer NOT NULL,
    organisation_id uuid NOT NULL,
    decision text NOT NULL,
    reason text,
    person_id uuid,
    client_id text,
    decided_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT design_approvals_check CHECK (((decision = 'approved'::text) OR (reason IS NOT NULL))),
    CONSTRAINT design_approvals_decision_check CHECK ((decision = ANY (ARRAY['approved'::text, 'changes_requested'::text])))
);

CREATE TABLE public.design_changes (
    id bigint NOT NULL,
    version_id uuid NOT NULL,
    revision integer NOT NULL,
    organisation_id uuid,
    person_id uuid,
    client_id text,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    diff jsonb NOT NULL
);

ALTER TABLE public.design_changes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.design_changes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.design_coauthors (
    design_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    roles text[] NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT design_coauthors_roles_check CHECK (((cardinality(roles) > 0) AND (roles <@ ARRAY['author'::text, 'approver'::text, 'cosigner'::text])))
);

CREATE TABLE public.design_comments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    version_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    person_id uuid,
    client_id text,
    target text NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT design_comments_body_check CHECK (((length(body) >= 1) AND (length(body) <= 10000)))
);

CREATE TABLE public.design_versions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    design_id uuid NOT NULL,
    number integer NOT NULL,
    status text NOT NULL,
    content jsonb NOT NULL,
    revision integer DEFAULT 1 NOT NULL,
    approval_round integer DEFAULT 0 NOT NULL,
    based_on_version_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    proposed_at timestamp with time zone,
    published_at timestamp with time zone,
    CONSTRAINT design_versions_number_check CHECK ((number > 0)),
    CONSTRAINT design_versions_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'proposed'::text, 'published'::text])))
);

CREATE TABLE public.designs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kind text NOT NULL,
    lead_organisation_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    coauthors_version integer DEFAULT 1 NOT NULL,
    withdrawn_at timestamp with time zone,
    withdrawal_reason text,
    CONSTRAINT designs_kind_check CHECK ((kind = ANY (ARRAY['programme'::text, 'qualification'::text]))),
    CONSTRAINT designs_withdrawal_check CHECK (((withdrawn_at IS NULL) = (withdrawal_reason IS NULL)))
);

CREATE TABLE public.endorsements (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    endorser_id uuid NOT NULL,
    design_id uuid NOT NULL,
    unit_key text,
    comment text NOT NULL,
    payload bytea NOT NULL,
    jwt text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    withdrawn_at timestamp with time zone
);

CREATE TABLE public.enrolments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider_id uuid NOT NULL,
    learner_id uuid NOT NULL,
    version_id uuid NOT NULL,
    unit_key text,
    enrolled_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.esco_occupation_skills (
    occupation_uri text NOT NULL,
    skill_uri text NOT NULL,
    relation text NOT NULL,
    CONSTRAINT esco_occupation_skills_relation_check CHECK ((relation = ANY (ARRAY['essential'::text, 'optional'::text])))
);

CREATE TABLE public.esco_occupations (
    uri text NOT NULL,
    isco_code text,
    code text,
    labels jsonb NOT NULL,
    essential_skills text[] DEFAULT '{}'::text[] NOT NULL,
    optional_skills text[] DEFAULT '{}'::text[] NOT NULL,
    essential_count integer DEFAULT 0 NOT NULL,
    release text NOT NULL,
    CONSTRAINT esco_occupations_labels_check CHECK ((jsonb_typeof(labels) = 'object'::text)),
    CONSTRAINT esco_occupations_uri_check CHECK ((uri ~ '^http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}$'::text))
);

CREATE TABLE public.esco_releases (
    version text NOT NULL,
    imported_at timestamp with time zone DEFAULT now() NOT NULL,
    languages text[] NOT NULL,
    occupations integer NOT NULL,
    skills integer NOT NULL,
    relations integer NOT NULL,
    changes jsonb NOT NULL,
    CONSTRAINT esco_releases_version_check CHECK (((length(version) >= 1) AND (length(version) <= 64)))
);

CREATE TABLE public.esco_skills (
    uri text NOT NULL,
    skill_type text,
    reuse_level text,
    labels jsonb NOT NULL,
    release text NOT NULL,
    CONSTRAINT esco_skills_labels_check CHECK ((jsonb_typeof(labels) = 'object'::text)),
    CONSTRAINT esco_skills_uri_check CHECK ((uri ~ '^http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}$'::text))
);

CREATE TABLE public.foreign_credentials (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    person_id uuid NOT NULL,
    form text NOT NULL,
    body text NOT NULL,
    digest text NOT NULL,
    credential_uri text,
    issuer text NOT NULL,
    document jsonb NOT NULL,
    verification jsonb NOT NULL,
    verified boolean NOT NULL,
    checked_at timestamp with time zone NOT NULL,
    added_by_client text,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT foreign_credentials_digest_check CHECK ((digest ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT foreign_credentials_form_check CHECK ((form = ANY (ARRAY['vc_jwt'::text, 'data_integrity'::text])))
);

CREATE TABLE public.idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    response jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    record_id uuid
);

CREATE TABLE public.invitations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organisation_id uuid NOT NULL,
    email text NOT NULL,
    email_canonical text NOT NULL,
    name text NOT NULL,
    roles text[] NOT NULL,
    language text,
    token_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    sent_count integer DEFAULT 1 NOT NULL,
    accepted_at timestamp with time zone,
    accepted_by uuid,
    revoked_at timestamp with time zone,
    CONSTRAINT invitations_language_check CHECK ((language ~ '^[a-z]{2,3}$'::text))
);

CREATE TABLE public.issuing_holds (
    provider_id uuid NOT NULL,
    design_id uuid NOT NULL,
    reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.learner_claim_codes (
    code_hash text NOT NULL,
    learner_id uuid NOT NULL,
    provider_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    created_by_client text,
    created_by_person uuid
);

COMMENT ON COLUMN public.learner_claim_codes.code_hash IS 'hmac-sha256:<hex> under the server''s claim-code key; a bare SHA-256 hex for codes issued before';

CREATE TABLE public.learner_identifiers (
    learner_id uuid NOT NULL,
    provider_id uuid NOT NULL,
    scheme text NOT NULL,
    value text NOT NULL
);

CREATE TABLE public.learners (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider_id uuid NOT NULL,
    name text NOT NULL,
    date_of_birth date,
    email text,
    email_salt text NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    person_id uuid,
    claimed_at timestamp with time zone,
    erased_at timestamp with time zone,
    preferred_language text,
    email_canonical text,
    CONSTRAINT learners_claim_check CHECK (((person_id IS NULL) = (claimed_at IS NULL))),
    CONSTRAINT learners_email_canonical_check CHECK (((email IS NULL) = (email_canonical IS NULL))),
    CONSTRAINT learners_erased_check CHECK (((erased_at IS NULL) OR ((name = 'erased'::text) AND (email IS NULL) AND (date_of_birth IS NULL)))),
    CONSTRAINT learners_preferred_language_check CHECK ((preferred_language ~ '^[a-z]{2,3}$'::text))
);

CREATE TABLE public.mail_messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    person_id uuid,
    to_address text NOT NULL,
    template text NOT NULL,
    language text NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    sent_at timestamp with time zone
);

CREATE TABLE public.members (
    organisation_id uuid NOT NULL,
    person_id uuid NOT NULL,
    roles text[] NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT members_roles_check CHECK (((cardinality(roles) > 0) AND (roles <@ ARRAY['admin'::text, 'author'::text, 'assessor'::text, 'signatory'::text, 'viewer'::text])))
);

CREATE TABLE public.oauth_authorization_codes (
    code_hash text NOT NULL,
    client_id text NOT NULL,
    person_id uuid NOT NULL,
    redirect_uri text NOT NULL,
    scope text NOT NULL,
    code_challenge text NOT NULL,
    code_challenge_method text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    credential_offer_id uuid,
    amr text[] DEFAULT '{pwd}'::text[] NOT NULL,
    CONSTRAINT oauth_authorization_codes_code_challenge_method_check CHECK ((code_challenge_method = 'S256'::text))
);

CREATE TABLE public.oauth_client_registrations (
    client_id text NOT NULL,
    client_uri text NOT NULL,
    logo_uri text NOT NULL,
    tos_uri text NOT NULL,
    policy_uri text NOT NULL,
    software_id text NOT NULL,
    software_version text NOT NULL,
    contacts text[] DEFAULT '{}'::text[] NOT NULL,
    metadata jsonb NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.oauth_clients (
    client_id text NOT NULL,
    organisation_id uuid NOT NULL,
    name text NOT NULL,
    secret_hash text,
    token_endpoint_auth_method text NOT NULL,
    grant_types text[] NOT NULL,
    redirect_uris text[] DEFAULT '{}'::text[] NOT NULL,
    scopes text[] NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    disabled_at timestamp with time zone,
    CONSTRAINT oauth_clients_check CHECK (((token_endpoint_auth_method = 'none'::text) = (secret_hash IS NULL))),
    CONSTRAINT oauth_clients_token_endpoint_auth_method_check CHECK ((token_endpoint_auth_method = ANY (ARRAY['client_secret_basic'::text, 'client_secret_post'::text, 'none'::text])))
);

CREATE TABLE public.oauth_tokens (
    jti text NOT NULL,
    family_id uuid NOT NULL,
    client_id text NOT NULL,
    organisation_id uuid NOT NULL,
    person_id uuid,
    scope text NOT NULL,
    issued_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    refresh_token_hash text,
    refresh_expires_at timestamp with time zone,
    refresh_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    amr text[] DEFAULT '{}'::text[] NOT NULL
);

CREATE TABLE public.ob_hosted_credentials (
    credential_id uuid NOT NULL,
    person_id uuid NOT NULL,
    form text NOT NULL,
    body text NOT NULL,
    stored_by_client text,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ob_hosted_credentials_form_check CHECK ((form = ANY (ARRAY['vc+jwt'::text, 'json'::text])))
);

CREATE TABLE public.occupational_profile_versions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    profile_id uuid NOT NULL,
    number integer NOT NULL,
    title jsonb NOT NULL,
    default_language text NOT NULL,
    esco_occupation_uri text,
    isco_code text,
    description jsonb,
    competences jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT occupational_profile_versions_competences_check CHECK ((jsonb_typeof(competences) = 'array'::text)),
    CONSTRAINT occupational_profile_versions_default_language_check CHECK ((default_language ~ '^[a-z]{2,3}$'::text)),
    CONSTRAINT occupational_profile_versions_description_check CHECK (((description IS NULL) OR (jsonb_typeof(description) = 'object'::text))),
    CONSTRAINT occupational_profile_versions_esco_occupation_uri_check CHECK ((esco_occupation_uri ~ '^http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}$'::text)),
    CONSTRAINT occupational_profile_versions_isco_code_check CHECK ((isco_code ~ '^[0-9]{4}$'::text)),
    CONSTRAINT occupational_profile_versions_number_check CHECK ((number > 0)),
    CONSTRAINT occupational_profile_versions_title_check CHECK ((jsonb_typeof(title) = 'object'::text))
);

CREATE TABLE public.occupational_profiles (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid
);

CREATE TABLE public.organisations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kind text NOT NULL,
    name jsonb NOT NULL,
    default_language text NOT NULL,
    country text NOT NULL,
    region text,
    registration_ids jsonb DEFAULT '[]'::jsonb NOT NULL,
    website text,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    second_factor_roles text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT organisations_country_check CHECK ((country ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT organisations_default_language_check CHECK ((default_language ~ '^[a-z]{2,3}$'::text)),
    CONSTRAINT organisations_kind_check CHECK ((kind = ANY (ARRAY['employer'::text, 'employer_association'::text, 'social_partner'::text, 'vet_provider'::text, 'chamber'::text, 'qa_body'::text, 'authority'::text]))),
    CONSTRAINT organisations_name_check CHECK ((jsonb_typeof(name) = 'object'::text)),
    CONSTRAINT organisations_region_check CHECK ((region ~ '^[A-Z]{2}-[A-Z0-9]{1,3}$'::text)),
    CONSTRAINT organisations_registration_ids_check CHECK ((jsonb_typeof(registration_ids) = 'array'::text)),
    CONSTRAINT organisations_second_factor_roles_check CHECK ((second_factor_roles <@ ARRAY['signatory'::text, 'admin'::text]))
);

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    topic text NOT NULL,
    organisation_id uuid,
    subject text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    dispatched_at timestamp with time zone,
    done_at timestamp with time zone,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    dispatched_by text
);

ALTER TABLE public.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.person_links (
    token_hash text NOT NULL,
    person_id uuid NOT NULL,
    purpose text NOT NULL,
    email text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT person_links_purpose_check CHECK ((purpose = ANY (ARRAY['verify_email'::text, 'reset_password'::text])))
);

CREATE TABLE public.person_profiles (
    person_id uuid NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT person_profiles_details_check CHECK ((jsonb_typeof(details) = 'object'::text))
);

CREATE TABLE public.person_recovery_codes (
    person_id uuid NOT NULL,
    code_hash text NOT NULL,
    used_at timestamp with time zone
);

CREATE TABLE public.persons (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    self_registered boolean DEFAULT false NOT NULL,
    erased_at timestamp with time zone,
    email_canonical text NOT NULL,
    email_verified_at timestamp with time zone,
    preferred_language text,
    totp_secret bytea,
    totp_enabled_at timestamp with time zone,
    totp_last_step bigint,
    CONSTRAINT persons_preferred_language_check CHECK ((preferred_language ~ '^[a-z]{2,3}$'::text))
);

CREATE TABLE public.recognition_consents (
    person_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    granted_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.recognition_requests (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    person_id uuid NOT NULL,
    awarding_body_id uuid NOT NULL,
    design_id uuid NOT NULL,
    version_id uuid NOT NULL,
    unit_key text NOT NULL,
    credentials jsonb NOT NULL,
    status text NOT NULL,
    rule_id uuid,
    reasons text[] DEFAULT '{}'::text[] NOT NULL,
    submitted_by_organisation uuid,
    submitted_by_client text,
    decided_by_person uuid,
    decided_by_client text,
    decided_at timestamp with time zone,
    attempt_id uuid,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT recognition_requests_check CHECK (((status = 'granted'::text) = (attempt_id IS NOT NULL))),
    CONSTRAINT recognition_requests_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'granted'::text, 'refused'::text])))
);

CREATE TABLE public.recognition_rules (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organisation_id uuid NOT NULL,
    design_id uuid NOT NULL,
    unit_key text NOT NULL,
    kind text NOT NULL,
    achievement_ids text[] DEFAULT '{}'::text[] NOT NULL,
    issuers text[] DEFAULT '{}'::text[] NOT NULL,
    esco_skills text[] DEFAULT '{}'::text[] NOT NULL,
    min_eqf_level integer,
    min_hours numeric,
    note text,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    withdrawn_at timestamp with time zone,
    CONSTRAINT recognition_rules_check CHECK (((kind <> 'achievement'::text) OR (cardinality(achievement_ids) > 0))),
    CONSTRAINT recognition_rules_kind_check CHECK ((kind = ANY (ARRAY['achievement'::text, 'criteria'::text, 'case_by_case'::text]))),
    CONSTRAINT recognition_rules_min_eqf_level_check CHECK (((min_eqf_level >= 1) AND (min_eqf_level <= 8))),
    CONSTRAINT recognition_rules_min_hours_check CHECK ((min_hours >= (0)::numeric))
);

CREATE TABLE public.register_entries (
    version_id uuid NOT NULL,
    design_id uuid NOT NULL,
    kind text NOT NULL,
    number integer NOT NULL,
    is_latest boolean DEFAULT true NOT NULL,
    title jsonb NOT NULL,
    default_language text NOT NULL,
    search_text jsonb NOT NULL,
    esco_occupation_uri text,
    isco_code text,
    eqf_levels integer[] DEFAULT '{}'::integer[] NOT NULL,
    country text,
    languages text[] DEFAULT '{}'::text[] NOT NULL,
    provider_ids uuid[] DEFAULT '{}'::uuid[] NOT NULL,
    awarding_body_id uuid,
    quality_assurance_type text,
    published_at timestamp with time zone NOT NULL,
    search_folded jsonb
);

CREATE TABLE public.register_offer_skills (
    skill_uri text NOT NULL,
    offer_id bigint NOT NULL,
    hours double precision
);

CREATE TABLE public.register_offers (
    id bigint NOT NULL,
    version_id uuid NOT NULL,
    unit_key text DEFAULT ''::text NOT NULL,
    design_id uuid NOT NULL,
    number integer NOT NULL,
    is_latest boolean DEFAULT true NOT NULL,
    title jsonb NOT NULL,
    programme_title jsonb NOT NULL,
    default_language text NOT NULL,
    hours double precision,
    eqf_level integer,
    languages text[] DEFAULT '{}'::text[] NOT NULL,
    country text,
    region text,
    validity_months integer,
    quality_assurance_type text,
    skills text[] NOT NULL
);

ALTER TABLE public.register_offers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.register_offers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.result_batches (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider_id uuid NOT NULL,
    format text NOT NULL,
    fingerprint text NOT NULL,
    status text NOT NULL,
    rows_total integer NOT NULL,
    rows_done integer DEFAULT 0 NOT NULL,
    accepted integer DEFAULT 0 NOT NULL,
    rejected integer DEFAULT 0 NOT NULL,
    rejections jsonb DEFAULT '[]'::jsonb NOT NULL,
    payload jsonb NOT NULL,
    recorded_by_client text,
    recorded_by_person uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    CONSTRAINT result_batches_format_check CHECK ((format = ANY (ARRAY['json'::text, 'csv'::text]))),
    CONSTRAINT result_batches_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'done'::text, 'failed'::text])))
);

CREATE TABLE public.schema_migrations (
    version character varying(128) NOT NULL
);

CREATE TABLE public.signing_keys (
    kid text NOT NULL,
    purpose text NOT NULL,
    organisation_id uuid,
    alg text NOT NULL,
    public_jwk jsonb NOT NULL,
    private_key_ciphertext bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    retired_at timestamp with time zone
);

CREATE SEQUENCE public.status_list_entries
    START WITH 0
    INCREMENT BY 1
    MINVALUE 0
    NO MAXVALUE
    CACHE 1;

CREATE TABLE public.status_lists (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organisation_id uuid NOT NULL,
    number integer NOT NULL,
    purpose text NOT NULL,
    bits bytea DEFAULT decode(repeat('00'::text, 16384), 'hex'::text) NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    signed_jwt text,
    signed_version integer,
    token_jwt text,
    token_version integer,
    token_expires_at timestamp with time zone,
    CONSTRAINT status_lists_bits_check CHECK ((octet_length(bits) = 16384)),
    CONSTRAINT status_lists_check CHECK (((signed_jwt IS NULL) = (signed_version IS NULL))),
    CONSTRAINT status_lists_number_check CHECK ((number >= 0)),
    CONSTRAINT status_lists_purpose_check CHECK ((purpose = ANY (ARRAY['revocation'::text, 'suspension'::text]))),
    CONSTRAINT status_lists_token_check CHECK ((((token_jwt IS NULL) = (token_version IS NULL)) AND ((token_jwt IS NULL) = (token_expires_at IS NULL))))
);

CREATE TABLE public.vc_api_exchanges (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    credential_id uuid NOT NULL,
    person_id uuid,
    client_id text,
    challenge text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    holder_did text,
    CONSTRAINT vc_api_exchanges_check CHECK ((expires_at > created_at)),
    CONSTRAINT vc_api_exchanges_check1 CHECK (((completed_at IS NULL) = (holder_did IS NULL))),
    CONSTRAINT vc_api_exchanges_check2 CHECK (((person_id IS NULL) <> (client_id IS NULL)))
);

CREATE TABLE public.webhook_deliveries (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id bigint,
    event_type text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    lease uuid,
    leased_until timestamp with time zone,
    last_attempt_at timestamp with time zone,
    last_response_status integer,
    last_response_excerpt text,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'succeeded'::text, 'failed'::text])))
);

CREATE TABLE public.webhook_delivery_attempts (
    delivery_id uuid NOT NULL,
    number integer NOT NULL,
    attempted_at timestamp with time zone NOT NULL,
    duration_ms integer NOT NULL,
    succeeded boolean NOT NULL,
    response_status integer,
    response_excerpt text,
    error text,
    CONSTRAINT webhook_delivery_attempts_number_check CHECK ((number > 0))
);

CREATE TABLE public.webhook_endpoints (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organisation_id uuid NOT NULL,
    url text NOT NULL,
    description text,
    event_types text[] NOT NULL,
    status text DEFAULT 'enabled'::text NOT NULL,
    secret_ciphertext bytea NOT NULL,
    previous_secret_ciphertext bytea,
    previous_secret_expires_at timestamp with time zone,
    failing_since timestamp with time zone,
    version integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_endpoints_check CHECK (((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL))),
    CONSTRAINT webhook_endpoints_check1 CHECK (((status = 'failing'::text) = (failing_since IS NOT NULL))),
    CONSTRAINT webhook_endpoints_event_types_check CHECK ((cardinality(event_types) > 0)),
    CONSTRAINT webhook_endpoints_status_check CHECK ((status = ANY (ARRAY['enabled'::text, 'disabled'::text, 'failing'::text]))),
    CONSTRAINT webhook_endpoints_url_check CHECK ((length(url) <= 2000))
);

CREATE TABLE public.xapi_statements (
    id uuid NOT NULL,
    provider_id uuid NOT NULL,
    client_id text,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    statement jsonb NOT NULL,
    attempt_id uuid,
    problem text
);

ALTER TABLE ONLY public.accreditations
    ADD CONSTRAINT accreditations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.attempts
    ADD CONSTRAINT attempts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.credential_nonces
    ADD CONSTRAINT credential_nonces_pkey PRIMARY KEY (nonce_hash);

ALTER TABLE ONLY public.credential_offer_deliveries
    ADD CONSTRAINT credential_offer_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.credential_offers
    ADD CONSTRAINT credential_offers_access_token_jti_key UNIQUE (access_token_jti);

ALTER TABLE ONLY public.credential_offers
    ADD CONSTRAINT credential_offers_issuer_state_hash_key UNIQUE (issuer_state_hash);

ALTER TABLE ONLY public.credential_offers
    ADD CONSTRAINT credential_offers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.credential_offers
    ADD CONSTRAINT credential_offers_pre_authorized_code_hash_key UNIQUE (pre_authorized_code_hash);

ALTER TABLE ONLY public.credential_proofs
    ADD CONSTRAINT credential_proofs_pkey PRIMARY KEY (credential_id, organisation_id);

ALTER TABLE ONLY public.credential_signatures
    ADD CONSTRAINT credential_signatures_pkey PRIMARY KEY (credential_id, organisation_id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_issuance_key_key UNIQUE (issuance_key);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.design_approvals
    ADD CONSTRAINT design_approvals_pkey PRIMARY KEY (version_id, approval_round, organisation_id);

ALTER TABLE ONLY public.design_changes
    ADD CONSTRAINT design_changes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.design_coauthors
    ADD CONSTRAINT design_coauthors_pkey PRIMARY KEY (design_id, organisation_id);

ALTER TABLE ONLY public.design_comments
    ADD CONSTRAINT design_comments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.design_versions
    ADD CONSTRAINT design_versions_design_id_number_key UNIQUE (design_id, number);

ALTER TABLE ONLY public.design_versions
    ADD CONSTRAINT design_versions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.designs
    ADD CONSTRAINT designs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.endorsements
    ADD CONSTRAINT endorsements_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.enrolments
    ADD CONSTRAINT enrolments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.esco_occupation_skills
    ADD CONSTRAINT esco_occupation_skills_pkey PRIMARY KEY (occupation_uri, skill_uri);

ALTER TABLE ONLY public.esco_occupations
    ADD CONSTRAINT esco_occupations_pkey PRIMARY KEY (uri);

ALTER TABLE ONLY public.esco_releases
    ADD CONSTRAINT esco_releases_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.esco_skills
    ADD CONSTRAINT esco_skills_pkey PRIMARY KEY (uri);

ALTER TABLE ONLY public.foreign_credentials
    ADD CONSTRAINT foreign_credentials_person_id_digest_key UNIQUE (person_id, digest);

ALTER TABLE ONLY public.foreign_credentials
    ADD CONSTRAINT foreign_credentials_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key);

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);

ALTER TABLE ONLY public.issuing_holds
    ADD CONSTRAINT issuing_holds_pkey PRIMARY KEY (provider_id, design_id);

ALTER TABLE ONLY public.learner_claim_codes
    ADD CONSTRAINT learner_claim_codes_pkey PRIMARY KEY (code_hash);

ALTER TABLE ONLY public.learner_identifiers
    ADD CONSTRAINT learner_identifiers_pkey PRIMARY KEY (provider_id, scheme, value);

ALTER TABLE ONLY public.learners
    ADD CONSTRAINT learners_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.mail_messages
    ADD CONSTRAINT mail_messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.members
    ADD CONSTRAINT members_pkey PRIMARY KEY (organisation_id, person_id);

ALTER TABLE ONLY public.oauth_authorization_codes
    ADD CONSTRAINT oauth_authorization_codes_pkey PRIMARY KEY (code_hash);

ALTER TABLE ONLY public.oauth_client_registrations
    ADD CONSTRAINT oauth_client_registrations_pkey PRIMARY KEY (client_id);

ALTER TABLE ONLY public.oauth_clients
    ADD CONSTRAINT oauth_clients_pkey PRIMARY KEY (client_id);

ALTER TABLE ONLY public.oauth_tokens
    ADD CONSTRAINT oauth_tokens_pkey PRIMARY KEY (jti);

ALTER TABLE ONLY public.oauth_tokens
    ADD CONSTRAINT oauth_tokens_refresh_token_hash_key UNIQUE (refresh_token_hash);

ALTER TABLE ONLY public.ob_hosted_credentials
    ADD CONSTRAINT ob_hosted_credentials_pkey PRIMARY KEY (credential_id);

ALTER TABLE ONLY public.occupational_profile_versions
    ADD CONSTRAINT occupational_profile_versions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.occupational_profile_versions
    ADD CONSTRAINT occupational_profile_versions_profile_id_number_key UNIQUE (profile_id, number);

ALTER TABLE ONLY public.occupational_profiles
    ADD CONSTRAINT occupational_profiles_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.organisations
    ADD CONSTRAINT organisations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.person_links
    ADD CONSTRAINT person_links_pkey PRIMARY KEY (token_hash);

ALTER TABLE ONLY public.person_profiles
    ADD CONSTRAINT person_profiles_pkey PRIMARY KEY (person_id);

ALTER TABLE ONLY public.person_recovery_codes
    ADD CONSTRAINT person_recovery_codes_pkey PRIMARY KEY (person_id, code_hash);

ALTER TABLE ONLY public.persons
    ADD CONSTRAINT persons_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.recognition_consents
    ADD CONSTRAINT recognition_consents_pkey PRIMARY KEY (person_id, organisation_id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.recognition_rules
    ADD CONSTRAINT recognition_rules_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.register_entries
    ADD CONSTRAINT register_entries_pkey PRIMARY KEY (version_id);

ALTER TABLE ONLY public.register_offer_skills
    ADD CONSTRAINT register_offer_skills_pkey PRIMARY KEY (skill_uri, offer_id) INCLUDE (hours);

ALTER TABLE ONLY public.register_offers
    ADD CONSTRAINT register_offers_id_key UNIQUE (id);

ALTER TABLE ONLY public.register_offers
    ADD CONSTRAINT register_offers_pkey PRIMARY KEY (version_id, unit_key);

ALTER TABLE ONLY public.result_batches
    ADD CONSTRAINT result_batches_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.result_batches
    ADD CONSTRAINT result_batches_provider_id_fingerprint_key UNIQUE (provider_id, fingerprint);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.signing_keys
    ADD CONSTRAINT signing_keys_pkey PRIMARY KEY (kid);

ALTER TABLE ONLY public.status_lists
    ADD CONSTRAINT status_lists_id_key UNIQUE (id);

ALTER TABLE ONLY public.status_lists
    ADD CONSTRAINT status_lists_pkey PRIMARY KEY (organisation_id, number, purpose);

ALTER TABLE ONLY public.vc_api_exchanges
    ADD CONSTRAINT vc_api_exchanges_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_endpoint_id_event_id_key UNIQUE (endpoint_id, event_id);

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_delivery_attempts
    ADD CONSTRAINT webhook_delivery_attempts_pkey PRIMARY KEY (delivery_id, number);

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.xapi_statements
    ADD CONSTRAINT xapi_statements_pkey PRIMARY KEY (id);

CREATE INDEX accreditations_organisation_idx ON public.accreditations USING btree (organisation_id);

CREATE UNIQUE INDEX attempts_corrects_idx ON public.attempts USING btree (corrects_attempt_id) WHERE (corrects_attempt_id IS NOT NULL);

CREATE UNIQUE INDEX attempts_dedupe_idx ON public.attempts USING btree (provider_id, dedupe_key) WHERE (dedupe_key IS NOT NULL);

CREATE INDEX attempts_learner_unit_idx ON public.attempts USING btree (learner_id, version_id, unit_key, created_at);

CREATE UNIQUE INDEX attempts_numbers_idx ON public.attempts USING btree (learner_id, version_id, unit_key, attempt_number) WHERE (corrects_attempt_id IS NULL);

CREATE INDEX attempts_provider_idx ON public.attempts USING btree (provider_id, created_at, id);

CREATE INDEX audit_log_organisation_idx ON public.audit_log USING btree (organisation_id, id);

CREATE INDEX credential_nonces_expires_idx ON public.credential_nonces USING btree (expires_at);

CREATE INDEX credential_offer_deliveries_credential_idx ON public.credential_offer_deliveries USING btree (credential_id);

CREATE INDEX credential_offer_deliveries_offer_idx ON public.credential_offer_deliveries USING btree (offer_id);

CREATE INDEX credential_offers_expires_idx ON public.credential_offers USING btree (expires_at);

CREATE INDEX credentials_achievement_idx ON public.credentials USING btree (learner_id, design_id, unit_key);

CREATE INDEX credentials_attempt_idx ON public.credentials USING btree (attempt_id);

CREATE INDEX credentials_awarding_idx ON public.credentials USING btree (awarding_body_id, created_at, id);

CREATE INDEX credentials_cosign_queue_idx ON public.credentials USING btree (cosigner_id, created_at, id) WHERE (state = 'awaiting_cosignature'::text);

CREATE INDEX credentials_cosigner_idx ON public.credentials USING btree (cosigner_id, created_at, id) WHERE (cosigner_id IS NOT NULL);

CREATE INDEX credentials_provider_idx ON public.credentials USING btree (provider_id, created_at, id);

CREATE INDEX design_changes_version_idx ON public.design_changes USING btree (version_id, id);

CREATE INDEX design_coauthors_organisation_idx ON public.design_coauthors USING btree (organisation_id);

CREATE INDEX design_comments_version_idx ON public.design_comments USING btree (version_id, created_at, id);

CREATE UNIQUE INDEX design_versions_one_open_idx ON public.design_versions USING btree (design_id) WHERE (status <> 'published'::text);

CREATE INDEX designs_lead_idx ON public.designs USING btree (lead_organisation_id);

CREATE INDEX endorsements_achievement_idx ON public.endorsements USING btree (design_id, unit_key) WHERE (withdrawn_at IS NULL);

CREATE UNIQUE INDEX enrolments_identity_idx ON public.enrolments USING btree (id, learner_id, provider_id, version_id);

CREATE UNIQUE INDEX enrolments_once_idx ON public.enrolments USING btree (learner_id, version_id, COALESCE(unit_key, ''::text));

CREATE INDEX enrolments_provider_idx ON public.enrolments USING btree (provider_id, enrolled_at, id);

CREATE INDEX esco_occupation_skills_essential_idx ON public.esco_occupation_skills USING btree (skill_uri, occupation_uri) WHERE (relation = 'essential'::text);

CREATE INDEX esco_occupations_essential_count_idx ON public.esco_occupations USING btree (uri) INCLUDE (essential_count);

CREATE INDEX foreign_credentials_person ON public.foreign_credentials USING btree (person_id, created_at);

CREATE INDEX idempotency_keys_created_idx ON public.idempotency_keys USING brin (created_at);

CREATE UNIQUE INDEX invitations_open ON public.invitations USING btree (organisation_id, email_canonical) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));

CREATE UNIQUE INDEX learner_claim_codes_live_idx ON public.learner_claim_codes USING btree (learner_id) WHERE ((used_at IS NULL) AND (revoked_at IS NULL));

CREATE INDEX learner_identifiers_learner_idx ON public.learner_identifiers USING btree (learner_id);

CREATE INDEX learner_identifiers_scheme_idx ON public.learner_identifiers USING btree (scheme, value);

CREATE INDEX learners_person_idx ON public.learners USING btree (person_id, created_at, id) WHERE (person_id IS NOT NULL);

CREATE UNIQUE INDEX learners_provider_email_canonical_key ON public.learners USING btree (provider_id, email_canonical) WHERE (email_canonical IS NOT NULL);

CREATE INDEX learners_provider_idx ON public.learners USING btree (provider_id, created_at, id);

CREATE INDEX mail_messages_person ON public.mail_messages USING btree (person_id, created_at);

CREATE INDEX members_person_idx ON public.members USING btree (person_id);

CREATE INDEX oauth_authorization_codes_person_idx ON public.oauth_authorization_codes USING btree (person_id);

CREATE INDEX oauth_client_registrations_software_idx ON public.oauth_client_registrations USING btree (software_id, registered_at);

CREATE INDEX oauth_clients_organisation_idx ON public.oauth_clients USING btree (organisation_id, created_at);

CREATE INDEX oauth_tokens_family_idx ON public.oauth_tokens USING btree (family_id);

CREATE INDEX oauth_tokens_person_idx ON public.oauth_tokens USING btree (person_id) WHERE (person_id IS NOT NULL);

CREATE INDEX ob_hosted_credentials_person_idx ON public.ob_hosted_credentials USING btree (person_id);

CREATE INDEX occupational_profile_versions_isco_idx ON public.occupational_profile_versions USING btree (isco_code text_pattern_ops);

CREATE INDEX occupational_profile_versions_occupation_idx ON public.occupational_profile_versions USING btree (esco_occupation_uri);

CREATE INDEX occupational_profiles_created_idx ON public.occupational_profiles USING btree (created_at, id);

CREATE INDEX organisations_created_idx ON public.organisations USING btree (created_at, id);

CREATE INDEX outbox_pending_idx ON public.outbox USING btree (id) WHERE (done_at IS NULL);

CREATE INDEX outbox_pending_subject_idx ON public.outbox USING btree (subject, id) WHERE (done_at IS NULL);

CREATE INDEX person_links_person ON public.person_links USING btree (person_id, purpose);

CREATE UNIQUE INDEX persons_email_canonical_key ON public.persons USING btree (email_canonical);

CREATE INDEX recognition_requests_person ON public.recognition_requests USING btree (person_id, created_at);

CREATE INDEX recognition_requests_queue ON public.recognition_requests USING btree (awarding_body_id, status, created_at);

CREATE INDEX recognition_rules_unit ON public.recognition_rules USING btree (design_id, unit_key) WHERE (withdrawn_at IS NULL);

CREATE INDEX register_entries_latest_idx ON public.register_entries USING btree (kind, published_at, version_id) WHERE is_latest;

CREATE INDEX register_entries_occupation_idx ON public.register_entries USING btree (esco_occupation_uri) WHERE is_latest;

CREATE INDEX register_offer_skills_offer_idx ON public.register_offer_skills USING btree (offer_id);

CREATE INDEX register_offers_design_idx ON public.register_offers USING btree (design_id) WHERE is_latest;

CREATE INDEX signing_keys_purpose_idx ON public.signing_keys USING btree (purpose, organisation_id, created_at DESC);

CREATE INDEX vc_api_exchanges_credential_idx ON public.vc_api_exchanges USING btree (credential_id);

CREATE INDEX vc_api_exchanges_person_idx ON public.vc_api_exchanges USING btree (person_id, created_at);

CREATE INDEX webhook_deliveries_due_idx ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);

CREATE INDEX webhook_deliveries_endpoint_due_idx ON public.webhook_deliveries USING btree (endpoint_id, next_attempt_at) WHERE (status = 'pending'::text);

CREATE INDEX webhook_deliveries_event_idx ON public.webhook_deliveries USING btree (event_id);

CREATE INDEX webhook_deliveries_listing_idx ON public.webhook_deliveries USING btree (endpoint_id, created_at, id);

CREATE INDEX webhook_deliveries_pending_by_subject_idx ON public.webhook_deliveries USING btree (subject) WHERE (status = 'pending'::text);

CREATE INDEX webhook_deliveries_subject_idx ON public.webhook_deliveries USING btree (endpoint_id, subject, event_id) WHERE (status = 'pending'::text);

CREATE INDEX webhook_endpoints_organisation_idx ON public.webhook_endpoints USING btree (organisation_id, created_at, id);

CREATE INDEX xapi_statements_attempt_idx ON public.xapi_statements USING btree (attempt_id) WHERE (attempt_id IS NOT NULL);

CREATE TRIGGER attempts_append_only BEFORE DELETE OR UPDATE ON public.attempts FOR EACH ROW EXECUTE FUNCTION public.attempts_are_append_only();

CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE OR TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_is_append_only();

CREATE TRIGGER design_versions_immutable BEFORE DELETE OR UPDATE ON public.design_versions FOR EACH ROW EXECUTE FUNCTION public.design_versions_published_are_immutable();

CREATE TRIGGER occupational_profile_versions_immutable BEFORE DELETE OR UPDATE ON public.occupational_profile_versions FOR EACH ROW EXECUTE FUNCTION public.occupational_profile_versions_are_immutable();

ALTER TABLE ONLY public.accreditations
    ADD CONSTRAINT accreditations_accrediting_organisation_id_fkey FOREIGN KEY (accrediting_organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.accreditations
    ADD CONSTRAINT accreditations_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.attempts
    ADD CONSTRAINT attempts_assessor_person_id_fkey FOREIGN KEY (assessor_person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.attempts
    ADD CONSTRAINT attempts_corrects_attempt_id_fkey FOREIGN KEY (corrects_attempt_id) REFERENCES public.attempts(id);

ALTER TABLE ONLY public.attempts
    ADD CONSTRAINT attempts_enrolment_fkey FOREIGN KEY (enrolment_id, learner_id, provider_id, version_id) REFERENCES public.enrolments(id, learner_id, provider_id, version_id);

ALTER TABLE ONLY public.credential_offer_deliveries
    ADD CONSTRAINT credential_offer_deliveries_credential_id_fkey FOREIGN KEY (credential_id) REFERENCES public.credentials(id);

ALTER TABLE ONLY public.credential_offer_deliveries
    ADD CONSTRAINT credential_offer_deliveries_offer_id_fkey FOREIGN KEY (offer_id) REFERENCES public.credential_offers(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.credential_proofs
    ADD CONSTRAINT credential_proofs_credential_id_organisation_id_fkey FOREIGN KEY (credential_id, organisation_id) REFERENCES public.credential_signatures(credential_id, organisation_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.credential_signatures
    ADD CONSTRAINT credential_signatures_credential_id_fkey FOREIGN KEY (credential_id) REFERENCES public.credentials(id);

ALTER TABLE ONLY public.credential_signatures
    ADD CONSTRAINT credential_signatures_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.credential_signatures
    ADD CONSTRAINT credential_signatures_signed_by_person_fkey FOREIGN KEY (signed_by_person) REFERENCES public.persons(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_attempt_id_fkey FOREIGN KEY (attempt_id) REFERENCES public.attempts(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_awarding_body_id_fkey FOREIGN KEY (awarding_body_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_cosigner_id_fkey FOREIGN KEY (cosigner_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_learner_id_fkey FOREIGN KEY (learner_id) REFERENCES public.learners(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_renews_credential_id_fkey FOREIGN KEY (renews_credential_id) REFERENCES public.credentials(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_replaces_credential_id_fkey FOREIGN KEY (replaces_credential_id) REFERENCES public.credentials(id);

ALTER TABLE ONLY public.credentials
    ADD CONSTRAINT credentials_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.design_approvals
    ADD CONSTRAINT design_approvals_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.design_approvals
    ADD CONSTRAINT design_approvals_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.design_changes
    ADD CONSTRAINT design_changes_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.design_coauthors
    ADD CONSTRAINT design_coauthors_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.design_coauthors
    ADD CONSTRAINT design_coauthors_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.design_comments
    ADD CONSTRAINT design_comments_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.design_comments
    ADD CONSTRAINT design_comments_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.design_versions
    ADD CONSTRAINT design_versions_based_on_version_id_fkey FOREIGN KEY (based_on_version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.design_versions
    ADD CONSTRAINT design_versions_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.designs
    ADD CONSTRAINT designs_lead_organisation_id_fkey FOREIGN KEY (lead_organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.endorsements
    ADD CONSTRAINT endorsements_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.endorsements
    ADD CONSTRAINT endorsements_endorser_id_fkey FOREIGN KEY (endorser_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.enrolments
    ADD CONSTRAINT enrolments_learner_id_fkey FOREIGN KEY (learner_id) REFERENCES public.learners(id);

ALTER TABLE ONLY public.enrolments
    ADD CONSTRAINT enrolments_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.enrolments
    ADD CONSTRAINT enrolments_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.esco_occupation_skills
    ADD CONSTRAINT esco_occupation_skills_occupation_uri_fkey FOREIGN KEY (occupation_uri) REFERENCES public.esco_occupations(uri) ON DELETE CASCADE;

ALTER TABLE ONLY public.esco_occupation_skills
    ADD CONSTRAINT esco_occupation_skills_skill_uri_fkey FOREIGN KEY (skill_uri) REFERENCES public.esco_skills(uri) ON DELETE CASCADE;

ALTER TABLE ONLY public.foreign_credentials
    ADD CONSTRAINT foreign_credentials_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES public.persons(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.issuing_holds
    ADD CONSTRAINT issuing_holds_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.issuing_holds
    ADD CONSTRAINT issuing_holds_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.learner_claim_codes
    ADD CONSTRAINT learner_claim_codes_created_by_person_fkey FOREIGN KEY (created_by_person) REFERENCES public.persons(id);

ALTER TABLE ONLY public.learner_claim_codes
    ADD CONSTRAINT learner_claim_codes_learner_id_fkey FOREIGN KEY (learner_id) REFERENCES public.learners(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.learner_claim_codes
    ADD CONSTRAINT learner_claim_codes_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.learner_identifiers
    ADD CONSTRAINT learner_identifiers_learner_id_fkey FOREIGN KEY (learner_id) REFERENCES public.learners(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.learner_identifiers
    ADD CONSTRAINT learner_identifiers_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.learners
    ADD CONSTRAINT learners_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.learners
    ADD CONSTRAINT learners_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.mail_messages
    ADD CONSTRAINT mail_messages_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.members
    ADD CONSTRAINT members_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.members
    ADD CONSTRAINT members_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.oauth_authorization_codes
    ADD CONSTRAINT oauth_authorization_codes_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.oauth_clients(client_id);

ALTER TABLE ONLY public.oauth_authorization_codes
    ADD CONSTRAINT oauth_authorization_codes_credential_offer_id_fkey FOREIGN KEY (credential_offer_id) REFERENCES public.credential_offers(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.oauth_authorization_codes
    ADD CONSTRAINT oauth_authorization_codes_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.oauth_client_registrations
    ADD CONSTRAINT oauth_client_registrations_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.oauth_clients(client_id);

ALTER TABLE ONLY public.oauth_clients
    ADD CONSTRAINT oauth_clients_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.oauth_tokens
    ADD CONSTRAINT oauth_tokens_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.oauth_clients(client_id);

ALTER TABLE ONLY public.oauth_tokens
    ADD CONSTRAINT oauth_tokens_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.oauth_tokens
    ADD CONSTRAINT oauth_tokens_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.ob_hosted_credentials
    ADD CONSTRAINT ob_hosted_credentials_credential_id_fkey FOREIGN KEY (credential_id) REFERENCES public.credentials(id);

ALTER TABLE ONLY public.ob_hosted_credentials
    ADD CONSTRAINT ob_hosted_credentials_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.ob_hosted_credentials
    ADD CONSTRAINT ob_hosted_credentials_stored_by_client_fkey FOREIGN KEY (stored_by_client) REFERENCES public.oauth_clients(client_id);

ALTER TABLE ONLY public.occupational_profile_versions
    ADD CONSTRAINT occupational_profile_versions_profile_id_fkey FOREIGN KEY (profile_id) REFERENCES public.occupational_profiles(id);

ALTER TABLE ONLY public.occupational_profiles
    ADD CONSTRAINT occupational_profiles_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.person_links
    ADD CONSTRAINT person_links_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.person_profiles
    ADD CONSTRAINT person_profiles_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.person_recovery_codes
    ADD CONSTRAINT person_recovery_codes_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.recognition_consents
    ADD CONSTRAINT recognition_consents_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.recognition_consents
    ADD CONSTRAINT recognition_consents_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_attempt_id_fkey FOREIGN KEY (attempt_id) REFERENCES public.attempts(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_awarding_body_id_fkey FOREIGN KEY (awarding_body_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_decided_by_person_fkey FOREIGN KEY (decided_by_person) REFERENCES public.persons(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_rule_id_fkey FOREIGN KEY (rule_id) REFERENCES public.recognition_rules(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_submitted_by_organisation_fkey FOREIGN KEY (submitted_by_organisation) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.recognition_requests
    ADD CONSTRAINT recognition_requests_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.recognition_rules
    ADD CONSTRAINT recognition_rules_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.recognition_rules
    ADD CONSTRAINT recognition_rules_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.register_entries
    ADD CONSTRAINT register_entries_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.register_entries
    ADD CONSTRAINT register_entries_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.design_versions(id);

ALTER TABLE ONLY public.register_offer_skills
    ADD CONSTRAINT register_offer_skills_offer_id_fkey FOREIGN KEY (offer_id) REFERENCES public.register_offers(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.register_offers
    ADD CONSTRAINT register_offers_design_id_fkey FOREIGN KEY (design_id) REFERENCES public.designs(id);

ALTER TABLE ONLY public.register_offers
    ADD CONSTRAINT register_offers_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.register_entries(version_id);

ALTER TABLE ONLY public.result_batches
    ADD CONSTRAINT result_batches_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.signing_keys
    ADD CONSTRAINT signing_keys_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.status_lists
    ADD CONSTRAINT status_lists_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.vc_api_exchanges
    ADD CONSTRAINT vc_api_exchanges_credential_id_fkey FOREIGN KEY (credential_id) REFERENCES public.credentials(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.vc_api_exchanges
    ADD CONSTRAINT vc_api_exchanges_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.persons(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES public.webhook_endpoints(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_delivery_attempts
    ADD CONSTRAINT webhook_delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES public.webhook_deliveries(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);

ALTER TABLE ONLY public.xapi_statements
    ADD CONSTRAINT xapi_statements_attempt_id_fkey FOREIGN KEY (attempt_id) REFERENCES public.attempts(id);

ALTER TABLE ONLY public.xapi_statements
    ADD CONSTRAINT xapi_statements_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.organisations(id);

INSERT INTO public.schema_migrations (version) VALUES ('20261124000001');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000003');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000004');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000005');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000006');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000008');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000009');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000010');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000011');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000012');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000013');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000014');
INSERT INTO public.schema_migrations (version) VALUES ('20261124000015');
INSERT INTO public.schema_migrations (version) VALUES ('20261206000020');
INSERT INTO public.schema_migrations (version) VALUES ('20261206000030');
INSERT INTO public.schema_migrations (version) VALUES ('20261206000050');
INSERT INTO public.schema_migrations (version) VALUES ('20261206000070');
INSERT INTO public.schema_migrations (version) VALUES ('20261207010000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207020000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207030000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207030100');
INSERT INTO public.schema_migrations (version) VALUES ('20261207040000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207040010');
INSERT INTO public.schema_migrations (version) VALUES ('20261207050000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207050010');
INSERT INTO public.schema_migrations (version) VALUES ('20261207060000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207070000');
INSERT INTO public.schema_migrations (version) VALUES ('20261207070010');
INSERT INTO public.schema_migrations (version) VALUES ('20261207080000');
INSERT INTO public.schema_migrations (version) VALUES ('20261208000000');
INSERT INTO public.schema_migrations (version) VALUES ('20261209000000');
INSERT INTO public.schema_migrations (version) VALUES ('20261210000000');
INSERT INTO public.schema_migrations (version) VALUES ('20261210000100');
INSERT INTO public.schema_migrations (version) VALUES ('20261211000000');
INSERT INTO public.schema_migrations (version) VALUES ('20261211000100');
INSERT INTO public.schema_migrations (version) VALUES ('20261212000000');
INSERT INTO public.schema_migrations (version) VALUES ('20261213000000');
