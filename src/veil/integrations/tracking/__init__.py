"""tracking integration."""
