"""Deletion requests (SPEC §5): request, erase, verify, keep the permanent record."""
