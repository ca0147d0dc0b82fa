"""The demo store behind `veil demo` (also used by tests and benchmarks)."""
