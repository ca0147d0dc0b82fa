"""segment integration."""
