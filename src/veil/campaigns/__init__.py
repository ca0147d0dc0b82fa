"""Campaigns and flows, their sends and recipient records."""
