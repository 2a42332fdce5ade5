-- name: credential
SELECT c.id, c.kind, c.state, c.suspended, c.learner_id, c.provider_id, c.awarding_body_id, c.cosigner_id,
       c.design_id, v.number AS version_number, c.unit_key, c.attempt_id, c.stands_on, c.payload,
       c.status_number, c.status_index, c.issued_at, c.valid_until, c.replaces_credential_id,
       c.renews_credential_id, c.revoked_at, c.revocation_reason, c.suspended_at, c.suspension_reason,
       c.cosign_refused_at, c.cosign_refusal_reason, c.version, c.created_at, c.updated_at,
       (SELECT r.id FROM credentials r WHERE r.replaces_credential_id = c.id) AS replaced_by,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'organisationId', s.organisation_id, 'role', s.role, 'kid', s.kid, 'signedAt', s.signed_at,
                    'protected', s.protected, 'signature', s.signature,
                    'withdrawnAt', s.withdrawn_at, 'withdrawalReason', s.withdrawal_reason)
                  ORDER BY s.role = 'cosigner', s.signed_at)
                 FROM credential_signatures s WHERE s.credential_id = c.id), '[]') AS signatures
FROM credentials c
JOIN design_versions v ON v.id = c.version_id
WHERE c.id = $1;

-- name: lock_credential
-- The credential to change, with what co-signing (its payload) and re-issuing (its version's content) need.
SELECT c.id, c.kind, c.state, c.suspended, c.learner_id, c.provider_id, c.awarding_body_id, c.cosigner_id,
       c.design_id, c.version_id, c.unit_key, c.attempt_id, c.stands_on, c.status_number, c.status_index,
       c.version, c.payload, c.payload IS NOT NULL AS signed, v.content
FROM credentials c JOIN design_versions v ON v.id = c.version_id
WHERE c.id = $1
FOR UPDATE OF c;

-- name: list_for_organisation
-- Credentials an organisation awarded, assessed or co-signs, newest first; filters are optional. Three branches,
-- one per role, each read backwards along its own index (role, created_at, id) from the cursor and stopped at the
-- page's size, then merged: the cost follows the page, not the organisation's credentials (an OR over the three
-- columns is a scan and a sort of all of them). A credential in two roles is kept by its first branch only.
SELECT id FROM (
    (SELECT id, created_at FROM credentials
     WHERE awarding_body_id = $1
       AND (created_at, id) < (coalesce($5::timestamptz, 'infinity'), coalesce($6::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
       AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR learner_id = $3)
       AND ($4::uuid IS NULL OR design_id = $4)
     ORDER BY created_at DESC, id DESC
     LIMIT $7)
    UNION ALL
    (SELECT id, created_at FROM credentials
     WHERE provider_id = $1 AND awarding_body_id <> $1
       AND (created_at, id) < (coalesce($5::timestamptz, 'infinity'), coalesce($6::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
       AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR learner_id = $3)
       AND ($4::uuid IS NULL OR design_id = $4)
     ORDER BY created_at DESC, id DESC
     LIMIT $7)
    UNION ALL
    (SELECT id, created_at FROM credentials
     WHERE cosigner_id = $1 AND awarding_body_id <> $1 AND provider_id <> $1
       AND (created_at, id) < (coalesce($5::timestamptz, 'infinity'), coalesce($6::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
       AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR learner_id = $3)
       AND ($4::uuid IS NULL OR design_id = $4)
     ORDER BY created_at DESC, id DESC
     LIMIT $7)
) AS mine
ORDER BY created_at DESC, id DESC
LIMIT $7;

-- name: cosign_queue
SELECT id FROM credentials
WHERE cosigner_id = $1 AND state = 'awaiting_cosignature'
  AND ($2::uuid IS NULL OR design_id = $2)
  AND ($3::uuid IS NULL OR provider_id = $3)
  AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5))
ORDER BY created_at, id
LIMIT $6;

-- name: set_state
UPDATE credentials SET state = $2, version = version + 1, updated_at = now() WHERE id = $1;

-- name: refuse_cosignature
UPDATE credentials
SET state = 'cosign_refused', cosign_refused_at = now(), cosign_refusal_reason = $2,
    version = version + 1, updated_at = now()
WHERE id = $1;

-- name: set_suspension
UPDATE credentials
SET suspended = $2, suspended_at = CASE WHEN $2 THEN now() END, suspension_reason = $3,
    version = version + 1, updated_at = now()
WHERE id = $1;

-- name: withdraw_signature
UPDATE credential_signatures
SET withdrawn_at = now(), withdrawal_reason = $3
WHERE credential_id = $1 AND organisation_id = $2 AND withdrawn_at IS NULL
RETURNING credential_id;

-- name: hold
INSERT INTO issuing_holds (provider_id, design_id, reason) VALUES ($1, $2, $3)
ON CONFLICT (provider_id, design_id) DO UPDATE SET reason = excluded.reason
RETURNING provider_id, design_id, reason, created_at;

-- name: release_hold
DELETE FROM issuing_holds WHERE provider_id = $1 AND design_id = $2 RETURNING design_id;

-- name: holds
SELECT provider_id, design_id, reason, created_at FROM issuing_holds WHERE provider_id = $1 ORDER BY created_at;

-- name: held_credentials
SELECT id FROM credentials WHERE provider_id = $1 AND design_id = $2 AND state = 'held' ORDER BY created_at, id LIMIT $3;

-- name: programme_visible_to
-- A programme organisation $2 may hold: a published one (public), or one it co-authors. Any other answers as
-- if it did not exist, so that holds tell nobody which drafts other organisations have.
SELECT EXISTS (
    SELECT 1 FROM designs d
    WHERE d.id = $1 AND d.kind = 'programme'
      AND (EXISTS (SELECT 1 FROM design_versions v WHERE v.design_id = d.id AND v.status = 'published')
           OR EXISTS (SELECT 1 FROM design_coauthors c WHERE c.design_id = d.id AND c.organisation_id = $2))
);

