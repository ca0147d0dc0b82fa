"""Exports and deletions: the heart of the product (SPEC §4 and §5)."""
