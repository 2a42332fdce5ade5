"""Skills-gap guidance: occupations, skills and the training that closes a gap."""
