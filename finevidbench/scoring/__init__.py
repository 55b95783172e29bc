"""Answer extraction, scoring and statistics."""
