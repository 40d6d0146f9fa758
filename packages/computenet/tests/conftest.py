"""Shared fixtures: a real PostgreSQL server per session, a fresh database per test.

* ``postgres_url`` (session): a private PostgreSQL server (see `testkit.postgres`),
  started on first use. Without server binaries the tests that need it are skipped, unless
  ``COMPUTENET_REQUIRE_POSTGRES=1`` makes that a failure.
* ``store_url`` (function, parametrised ``sqlite`` / ``postgresql``): an empty database:
  a new SQLite file in ``tmp_path``, or ``CREATE DATABASE test_<n>`` on the session server.
* ``store_engine``: an engine on ``store_url`` with the migrations applied; disposed after.
"""

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from computenet.store.db import default_url, make_engine
from computenet.store.migrate import upgrade
from testkit.postgres import (
    PostgresUnavailableError,
    create_database,
    running_postgres,
)

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with running_postgres() as url:  # on a RAM disk when there is one
            yield url
    except PostgresUnavailableError as exc:
        if os.environ.get("COMPUTENET_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return default_url(tmp_path / "store")
    server: str = request.getfixturevalue("postgres_url")
    return create_database(server, f"test_{next(_database_numbers)}")


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
