"""Workspaces (tenants), their settings, users and memberships."""
