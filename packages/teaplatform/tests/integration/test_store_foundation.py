"""The store foundation: every module's migration branch applies on SQLite and PostgreSQL."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from teaplatform.store.db import Base, Store
from teaplatform.store.migrate import alembic_config, current_heads, upgrade
from teaplatform.store.registry import load_tables

pytestmark = pytest.mark.integration


def test_upgrade_reaches_every_branch_head_and_matches_the_tables(store: Store) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert current_heads(store.engine) == heads
    load_tables()
    assert set(Base.metadata.tables) <= set(inspect(store.engine).get_table_names())


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current_heads(db_url) == set(ScriptDirectory.from_config(alembic_config()).get_heads())
