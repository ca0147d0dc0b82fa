"""shopify integration."""
