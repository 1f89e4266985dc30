"""Persistence: SQLAlchemy models, the engine, migrations and the queries the admin API needs."""
