"""Learners as each provider knows them, and their enrolments in published programmes."""
