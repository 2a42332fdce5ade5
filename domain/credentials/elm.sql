-- name: elm_sources
-- What the ELM export reads beside the signed payload: the credential's published version (immutable), the
-- parties, and the credentials a qualification stands on.
SELECT c.kind, c.unit_key, c.version_id, v.content, c.awarding_body_id, c.provider_id, c.cosigner_id, c.stands_on
FROM credentials c JOIN design_versions v ON v.id = c.version_id
WHERE c.id = $1;
