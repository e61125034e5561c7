"""Readers: (filled by the family work)."""
DEFAULTS: dict = {}
READERS: dict = {}
