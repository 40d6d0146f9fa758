"""The store: SQLAlchemy 2 (SQLite by default, PostgreSQL in production) and Alembic migrations.

Each module keeps its own tables (``teaplatform.<module>.tables``, on `Base`) and its own
migration branch (``versions/<module>_NNNN_*.py``, branch label = module name), so modules
evolve independently; `migrate.upgrade` brings every branch to its head.
"""
