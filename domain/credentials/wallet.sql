-- name: list_for_person
-- The signed credentials of a person's claimed learner records, at every provider, newest first.
SELECT c.id, c.issued_at
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE l.person_id = $1
  AND c.payload IS NOT NULL
  AND ($2::timestamptz IS NULL OR (c.issued_at, c.id) < ($2, $3::uuid))
ORDER BY c.issued_at DESC, c.id DESC
LIMIT $4;

-- name: owned
-- The credential if it is signed and belongs to one of the person's learner records.
SELECT c.id
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE c.id = $1 AND l.person_id = $2 AND c.payload IS NOT NULL;

-- name: all_for_person
SELECT c.id
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE l.person_id = $1 AND c.payload IS NOT NULL
ORDER BY c.issued_at DESC, c.id DESC;
