"""Occupational profiles: versioned reference data (by hand or from ESCO) that programmes map to."""
