"""Restriction of processing (GDPR art. 18, SPEC §9)."""
