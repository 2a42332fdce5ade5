"""Organisations, their members and their accreditations."""
