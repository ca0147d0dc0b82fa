"""Suppression: erase and keep out (SPEC §9)."""
