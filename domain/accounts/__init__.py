"""A person's own login: one-time links by e-mail (verification, password reset), TOTP, and their changes."""
