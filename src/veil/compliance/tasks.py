"""Background jobs of the compliance feature (registered with the worker at import)."""

from __future__ import annotations
