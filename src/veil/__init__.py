"""Veil: customer profiles for e-commerce marketing, with GDPR export and erasure built in."""

__version__ = "0.1.0"
