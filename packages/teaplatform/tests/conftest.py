"""Shared fixtures for teaplatform tests.

* ``shared_data``: the real public data (``$SHARED_DATA``, default ``../shared/data``);
  missing data is an error, never a skip.
* ``postgres_url`` (session): a private PostgreSQL server on 127.0.0.1 (`testkit.postgres`).
  Without server binaries the tests that need it are skipped, unless
  ``TEAPLATFORM_REQUIRE_POSTGRES=1`` (set by ``make test``) makes that a failure.
* ``db_url`` (parametrised ``sqlite`` / ``postgresql``): an empty database.
* ``store``: a `Store` on ``db_url`` with every migration applied.
"""

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from teaplatform.store.db import Store
from teaplatform.store.migrate import upgrade
from testkit.postgres import PostgresUnavailableError, create_database, running_postgres

REPO = Path(__file__).resolve().parents[3]
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "tea").is_dir():
        raise RuntimeError(f"real data not found at {path} (set SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with running_postgres(database="teaplatform") as url:
            yield url
    except PostgresUnavailableError as exc:
        if os.environ.get("TEAPLATFORM_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tea.db'}"
    server: str = request.getfixturevalue("postgres_url")
    return create_database(server, f"tea_{next(_numbers)}")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    upgrade(db_url)
    s = Store(db_url)
    try:
        yield s
    finally:
        s.dispose()
