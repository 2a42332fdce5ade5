"""Guildhall's business core and its persistence, one sub-package per area."""
