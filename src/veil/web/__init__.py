"""Server-rendered UI (SPEC §6) on the same services as the API."""
