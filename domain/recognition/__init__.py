"""Recognition of credentials from elsewhere: an awarding body's rules, learners' requests, assessors' decisions."""
