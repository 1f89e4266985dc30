"""Admin API bodies, in families: ``*Create`` (POST), ``*Update`` (PATCH), ``*Public`` (answers)."""
