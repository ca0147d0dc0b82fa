"""Events: what profiles did (orders, product views, campaign activity)."""
