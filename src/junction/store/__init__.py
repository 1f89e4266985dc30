"""Persistence: the serving port (``serving_db``: the statements a router runs to start and
serve), SQLAlchemy models and engine (``orm``, made on first use), migrations."""
