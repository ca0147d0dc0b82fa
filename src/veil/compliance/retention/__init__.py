"""Retention: personal data kept no longer than needed (GDPR art. 5(1)(e), SPEC §9)."""
