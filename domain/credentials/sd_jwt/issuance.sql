-- What an SD-JWT VC adds to the credential row (issuance.py).

-- name: sd_jwt_facts
-- The learner's date of birth (the W3C forms do not carry it), whether their record was erased, and the
-- revocation list that holds the credential's slot (its Token Status List's URL).
SELECT l.date_of_birth, l.erased_at IS NOT NULL AS erased, s.id AS revocation_list_id
FROM credentials c
JOIN learners l ON l.id = c.learner_id
LEFT JOIN status_lists s
       ON s.organisation_id = c.awarding_body_id AND s.number = c.status_number AND s.purpose = 'revocation'
WHERE c.id = $1;

-- name: owned
-- The credential if it belongs to one of the person's learner records (as the learner's downloads check).
SELECT c.id
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE c.id = $1 AND l.person_id = $2 AND c.payload IS NOT NULL;
