"""Authentication (API keys, UI sessions) and roles."""
