"""Background jobs: a huey queue that only wakes workers; request rows hold the state."""
