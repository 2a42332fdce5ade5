"""E-mail: messages built from templates in the person's language, kept in PostgreSQL, sent by the worker."""
