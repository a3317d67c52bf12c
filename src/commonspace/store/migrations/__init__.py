"""Alembic migrations. A package so that ``env.py`` ships with every install; see ``store.migrate``."""
