"""Storage: the database engine and sessions, the tables, and the Alembic migrations."""
