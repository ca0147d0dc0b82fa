"""Edges that turn outside payloads (Segment, Shopify, tracking links) into service calls."""
