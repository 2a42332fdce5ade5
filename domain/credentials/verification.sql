-- name: live_state
-- What can change after signing, in one round trip. $1: the credential's id when it names one of ours
-- (else NULL); $2: the status list its credentialStatus points at, when on this server (else NULL);
-- $3: the byte of the lists that holds the credential's bit. The revocation and suspension lists of one
-- number share the index, so both bytes come from the two lists of the pointed-at list's number; the
-- caller picks the bit out of each byte with status_lists.bit(), which knows the specification's order.
SELECT c.state,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'organisationId', s.organisation_id, 'role', s.role,
                    'protected', s.protected, 'signature', s.signature, 'withdrawnAt', s.withdrawn_at)
                  ORDER BY s.role = 'cosigner', s.signed_at)
                 FROM credential_signatures s WHERE s.credential_id = c.id), '[]') AS signatures,
       l.organisation_id AS list_organisation_id,
       l.number AS list_number,
       (SELECT get_byte(r.bits, $3) FROM status_lists r
        WHERE r.organisation_id = l.organisation_id AND r.number = l.number AND r.purpose = 'revocation')
           AS revocation_byte,
       (SELECT get_byte(r.bits, $3) FROM status_lists r
        WHERE r.organisation_id = l.organisation_id AND r.number = l.number AND r.purpose = 'suspension')
           AS suspension_byte
FROM (SELECT 1) AS one
LEFT JOIN credentials c ON c.id = $1::uuid
LEFT JOIN status_lists l ON l.id = $2::uuid;
