"""Database errors, known by name."""

from __future__ import annotations

# The database errors of SQLAlchemy and of the drivers, known by name: none of them is
# imported for this (a router that never used SQLAlchemy has none of its errors to catch).
DATABASE_ERRORS = frozenset(
    {
        ("sqlalchemy.exc", "DBAPIError"),
        ("sqlalchemy.exc", "TimeoutError"),  # no pooled connection came free in time
        ("sqlite3", "Error"),
        ("asyncpg.exceptions._base", "PostgresError"),
        ("asyncpg.exceptions._base", "InterfaceError"),
    }
)


def from_database(exc: BaseException) -> bool:
    return any((c.__module__, c.__qualname__) in DATABASE_ERRORS for c in type(exc).__mro__)
