"""Profiles and identity resolution (SPEC §2)."""
