"""Shared fixtures: a real PostgreSQL server per session, a fresh database per test.

* ``postgres_url`` (session): a private PostgreSQL server (see `testkit.postgres`),
  started on first use. Without server binaries the tests that need it are skipped, unless
  ``COMPUTENET_REQUIRE_POSTGRES=1`` makes that a failure.
* ``store_url`` (function, parametrised ``sqlite`` / ``postgresql``): an empty database:
  a new SQLite file in ``tmp_path``, or ``CREATE DATABASE test_<n>`` on the session server.
* ``store_engine``: an engine on ``store_url`` with the migrations applied; disposed after.
* ``slurm_cluster`` (session): a private Slurm cluster (munged, slurmctld, two slurmd with
  fake GPUs; see `testkit.slurm`); ``ray_cluster`` (session): a local Ray head in a private
  network namespace (see `testkit.ray`). Skipped without the software unless
  ``COMPUTENET_REQUIRE_SLURM=1`` / ``COMPUTENET_REQUIRE_RAY=1`` make that a failure.
"""

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from computenet.backends.ray import close_drivers
from computenet.store.db import default_url, make_engine
from computenet.store.migrate import upgrade
from testkit.postgres import (
    PostgresUnavailableError,
    create_database,
    running_postgres,
)
from testkit.ray import RayCluster, RayUnavailableError, running_ray
from testkit.slurm import SlurmCluster, SlurmUnavailableError, running_slurm

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


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    try:
        with running_slurm() as cluster:
            yield cluster
    except SlurmUnavailableError as exc:
        if os.environ.get("COMPUTENET_REQUIRE_SLURM") == "1":
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    try:
        with running_ray() as cluster:
            try:
                yield cluster
            finally:
                close_drivers()  # the backends' shared driver processes
    except RayUnavailableError as exc:
        if os.environ.get("COMPUTENET_REQUIRE_RAY") == "1":
            raise
        pytest.skip(str(exc))
