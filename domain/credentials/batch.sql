-- Issuing for many passing decisions at once (batch.py): each query here does for a whole chunk what
-- issuing.sql does for one attempt.

-- name: attempts_for_issuing
-- The attempts with what issuing needs, and the checks the single path makes one by one: whether a later
-- correction replaced the attempt, whether the learner already holds a credential for the achievement
-- (not revoked, not refused; expired ones count: a renewal goes the single way), whether the provider
-- holds issuing for the programme. The decision comes as JSON text, parsed once by the engine; the version's
-- content once per version (on its first row), not once per attempt.
SELECT a.id, a.provider_id, a.learner_id, a.version_id, a.unit_key, a.passed, a.decision::text AS decision_json,
       a.source,
       a.assessed_at, a.supervision, a.place, a.evidence, a.corrects_attempt_id,
       v.design_id, v.number AS version_number,
       CASE WHEN row_number() OVER (PARTITION BY a.version_id ORDER BY a.id) = 1 THEN v.content END AS content,
       l.name AS learner_name, l.email AS learner_email, l.email_salt, l.preferred_language AS learner_language,
       EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected,
       EXISTS (SELECT 1 FROM credentials c
               WHERE c.learner_id = a.learner_id AND c.design_id = v.design_id AND c.unit_key = a.unit_key
                 AND c.state IN ('held', 'awaiting_cosignature', 'issued')) AS holds_one,
       EXISTS (SELECT 1 FROM issuing_holds h WHERE h.provider_id = a.provider_id AND h.design_id = v.design_id)
           AS on_hold
FROM attempts a
JOIN design_versions v ON v.id = a.version_id
JOIN learners l ON l.id = a.learner_id
WHERE a.id = ANY($1::uuid[]);

-- name: passed_units_of_learners
-- For each (learner, programme version) pair: the units passed by an attempt no correction replaced.
SELECT a.learner_id, a.version_id, array_agg(DISTINCT a.unit_key) AS unit_keys
FROM attempts a
JOIN unnest($1::uuid[], $2::uuid[]) AS k (learner_id, version_id)
  ON a.learner_id = k.learner_id AND a.version_id = k.version_id
WHERE a.passed AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
GROUP BY a.learner_id, a.version_id;

-- name: insert_signed_credentials
-- Signed unit credentials, each with its issuer signature, audit entry and event, in one statement. A
-- credential whose issuance_key exists already (a racing worker issued it) is left out, and so is the
-- rest of its row. The row is what the single path leaves: inserted 'held', then signed (version 2).
WITH input AS (
    SELECT *
    FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::uuid[],
                $9::text[], $10::uuid[], $11::text[], $12::bytea[], $13::integer[], $14::integer[],
                $15::timestamptz[], $16::timestamptz[], $17::text[], $18::text[], $19::text[], $20::text[],
                $21::text[], $22::text[])
         WITH ORDINALITY AS t (id, issuance_key, learner_id, provider_id, awarding_body_id, cosigner_id, design_id,
                               version_id, unit_key, attempt_id, state, payload, status_number, status_index,
                               issued_at, valid_until, kid, protected, signature, request_id, topic, event, n)
),
inserted AS (
    INSERT INTO credentials (id, kind, issuance_key, learner_id, provider_id, awarding_body_id, cosigner_id,
                             design_id, version_id, unit_key, attempt_id, stands_on, state, payload, status_number,
                             status_index, issued_at, valid_until, version)
    SELECT id, 'unit', issuance_key, learner_id, provider_id, awarding_body_id, cosigner_id, design_id, version_id,
           unit_key, attempt_id, '{}', state, payload, status_number, status_index, issued_at, valid_until, 2
    FROM input
    ORDER BY n
    ON CONFLICT (issuance_key) DO NOTHING
    RETURNING id
),
signed AS (
    INSERT INTO credential_signatures (credential_id, organisation_id, role, kid, protected, signature)
    SELECT i.id, i.awarding_body_id, 'issuer', i.kid, i.protected, i.signature
    FROM input i JOIN inserted USING (id)
),
audited AS (
    INSERT INTO audit_log (organisation_id, action, target_type, target_id, request_id, details)
    SELECT i.awarding_body_id, 'credential.' || i.state, 'credential', i.id::text, i.request_id,
           jsonb_build_object('kid', i.kid)
    FROM input i JOIN inserted USING (id)
    ORDER BY i.n
)
-- The events are dispatched (in one job) as soon as this commits, so they are marked so: in a backlog, the
-- sweep leaves them to that job for a minute instead of dispatching them again after five seconds.
INSERT INTO outbox (topic, organisation_id, subject, payload, dispatched_at)
SELECT i.topic, i.awarding_body_id, 'credential/' || i.id, i.event::jsonb, now()
FROM input i JOIN inserted USING (id)
ORDER BY i.n
RETURNING id;

-- name: endpoints_subscribed
-- Whether any webhook endpoint that is not disabled subscribes to one of these event types (the webhook
-- handler's insert, domain/webhooks/queries.sql insert_event_deliveries, picks from these alone).
SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE event_types && $1::text[] AND status <> 'disabled');
