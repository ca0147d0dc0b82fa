"""Domain-free helpers: ids, pagination, time, crypto, JSON walking."""
