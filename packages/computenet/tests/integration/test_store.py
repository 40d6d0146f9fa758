"""The durable store on SQLite and on a real PostgreSQL server (see conftest.py)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from computenet.domain.events import EventKind, JobEvent
from computenet.domain.hardware import Precision
from computenet.domain.jobs import JobKind, JobSpec, JobState, PendingReason, Work
from computenet.domain.network import NodePool, NodeShape, Site
from computenet.domain.tenants import Tenant
from computenet.store import tables
from computenet.store.codec import job_spec_to_dict
from computenet.store.db import default_url, make_engine
from computenet.store.errors import DuplicateError, DuplicateJobError, NotFoundError
from computenet.store.migrate import current_revision, downgrade, head_revision, upgrade
from computenet.store.repository import Principal
from computenet.store.uow import UnitOfWork

pytestmark = pytest.mark.integration

SRC = Path(__file__).parents[2] / "src"


def job(job_id: str, tenant: str = "lab", submit: float = 0.0, **kw: Any) -> JobSpec:
    return JobSpec(id=job_id, tenant=tenant, work=Work(reference_s=60.0), submit_time=submit, **kw)


def with_tenants(engine: Engine, *names: str) -> None:
    with UnitOfWork(engine) as uow:
        for name in names:
            uow.tenants.add(Tenant(name), now=1.0)


# ------------------------------------------------------------------------------ migrations


def test_migrations_apply_from_empty_and_match_the_models(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(store_url)  # idempotent, from a URL too
        assert current_revision(engine) == head_revision() == "0002"
        names = set(inspect(engine).get_table_names())
        assert {"tenants", "tokens", "sites", "jobs", "job_events", "alembic_version"} <= names
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), tables.Base.metadata)
        assert diff == []
        downgrade(engine, "base")
        assert "jobs" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert current_revision(engine) == "0002"
    finally:
        engine.dispose()


def test_tenant_quota_migration_keeps_existing_data_both_ways(store_url: str) -> None:
    """0001 -> 0002 on a database in use: tenants, their tokens and jobs stay; old tenants
    join the default cohort without limits. Back to 0001 drops only the new columns."""
    engine = make_engine(store_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:  # rows as the 0001 code wrote them
            conn.execute(
                text(
                    "INSERT INTO tenants (name, weight, quota, created_at) "
                    """VALUES ('old', 2.0, '{"V100": 4}', 1.0)"""
                )
            )
        with UnitOfWork(engine) as uow:
            token = uow.tokens.create("old").token
            uow.jobs.add(job("j1", "old"), 5.0)
        upgrade(engine)
        assert current_revision(engine) == "0002"
        with UnitOfWork(engine) as uow:
            # the default cohort, no limits
            assert uow.tenants.get("old") == Tenant("old", 2.0, {"V100": 4}, "network", {}, {})
            assert uow.tokens.authenticate(token) == Principal("old", False, 1)
            uow.tenants.put(
                Tenant("old", 2.0, {"V100": 4}, "labs", {"V100": 2}, {"V100": 1}), now=9.0
            )
            uow.tenants.add(Tenant("new", quota={"*": 8}, cohort="labs"))
        with UnitOfWork(engine, read_only=True) as uow:
            assert uow.tenants.get("old") == Tenant(
                "old", 2.0, {"V100": 4}, "labs", {"V100": 2}, {"V100": 1}
            )
        downgrade(engine, "0001")
        columns = {c["name"] for c in inspect(engine).get_columns("tenants")}
        assert columns == {"name", "weight", "quota", "created_at"}
        with engine.connect() as conn:
            tenants = conn.execute(text("SELECT name FROM tenants ORDER BY name")).scalars()
            assert list(tenants) == ["new", "old"]
            assert conn.execute(text("SELECT count(*) FROM tokens")).scalar() == 1
            assert conn.execute(text("SELECT tenant FROM jobs")).scalar() == "old"
        upgrade(engine)  # and up again: the limits are gone, the rest is as it was
        with UnitOfWork(engine, read_only=True) as uow:
            assert uow.tenants.get("old") == Tenant("old", 2.0, {"V100": 4})
            assert uow.jobs.get("j1") is not None
            assert uow.tokens.authenticate(token) is not None
    finally:
        engine.dispose()


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    url = default_url(tmp_path / "new-dir")
    assert url == f"sqlite:///{tmp_path / 'new-dir' / 'computenet.db'}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pragma = {
                p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 1,
            "foreign_keys": 1,
            "busy_timeout": 30000,
        }
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- tenants, tokens


def test_tenants_add_get_list_and_put(store_engine: Engine) -> None:
    with UnitOfWork(store_engine) as uow:
        uow.tenants.add(Tenant("beta", 2.0, {"H100": 16, "*": 32}))
        uow.tenants.add(Tenant("alpha"))
        with pytest.raises(DuplicateError, match="tenant 'alpha' already exists"):
            uow.tenants.add(Tenant("alpha", 3.0))
    with UnitOfWork(store_engine) as uow:
        assert uow.tenants.get("beta") == Tenant("beta", 2.0, {"H100": 16, "*": 32})
        assert uow.tenants.get("nobody") is None
        assert [t.name for t in uow.tenants.list_all()] == ["alpha", "beta"]
        uow.tenants.put(Tenant("alpha", 5.0, {"A100": 4}))
        uow.tenants.put(Tenant("gamma"))
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.tenants.get("alpha") == Tenant("alpha", 5.0, {"A100": 4})
        assert len(uow.tenants.list_all()) == 3


def test_tenant_cohorts_and_limits_round_trip(store_engine: Engine) -> None:
    lab = Tenant("lab", 1.5, {"H800": 8, "*": 4}, "labs", {"H800": 4}, {"H800": 2, "*": 0})
    with UnitOfWork(store_engine) as uow:
        uow.tenants.add(lab)
        uow.tenants.add(Tenant("plain"))
    with UnitOfWork(store_engine) as uow:
        assert uow.tenants.get("lab", for_update=True) == lab
        assert uow.tenants.get("plain") == Tenant("plain")
        changed = Tenant("lab", 1.5, {"H800": 16}, "other", {}, {"H800": 16})
        uow.tenants.update(changed)
        with pytest.raises(NotFoundError, match="tenant 'ghost' does not exist"):
            uow.tenants.update(Tenant("ghost"))
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.tenants.list_all() == [changed, Tenant("plain")]


def test_tokens_are_hashed_at_rest_and_authenticate(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab")
    with UnitOfWork(store_engine) as uow:
        admin = uow.tokens.create(None, "bootstrap")
        lab = uow.tokens.create("lab", "ci")
        with pytest.raises(NotFoundError, match="tenant 'ghost'"):
            uow.tokens.create("ghost")
    assert admin.token != lab.token
    assert len(lab.token) >= 43
    assert lab.token not in repr(lab)
    with store_engine.connect() as conn:
        stored = [tuple(str(v) for v in row) for row in conn.execute(select(tables.tokens))]
    assert len(stored) == 2
    for row in stored:
        for value in row:
            assert admin.token not in value
            assert lab.token not in value
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.tokens.authenticate(admin.token) == Principal(None, True, admin.id)
        assert uow.tokens.authenticate(lab.token) == Principal("lab", False, lab.id)
        assert uow.tokens.authenticate(lab.token + "x") is None
        assert uow.tokens.authenticate("") is None
        assert [t.label for t in uow.tokens.list_all()] == ["bootstrap", "ci"]
        assert [t.id for t in uow.tokens.list_all("lab")] == [lab.id]
        assert [t.id for t in uow.tokens.list_all(admins=True)] == [admin.id]
    with UnitOfWork(store_engine) as uow:
        assert uow.tokens.revoke(lab.id)
        assert not uow.tokens.revoke(10_000)
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.tokens.authenticate(lab.token) is None
        assert uow.tokens.authenticate(admin.token) is not None
        assert [t.revoked for t in uow.tokens.list_all()] == [False, True]


def test_read_only_unit_of_work_cannot_write(store_engine: Engine) -> None:
    with pytest.raises(DBAPIError), UnitOfWork(store_engine, read_only=True) as uow:
        uow.tenants.add(Tenant("sneaky"))
    with UnitOfWork(store_engine) as uow:  # the pooled connection writes again
        uow.tenants.add(Tenant("fine"))
        assert uow.tenants.get("sneaky") is None


# ------------------------------------------------------------------------------------ sites


def test_sites_round_trip(store_engine: Engine) -> None:
    site = Site(
        name="wuxi",
        pools=(
            NodePool("h800", NodeShape("H800", 8, 112, 2048, "NVLink"), 4),
            NodePool("cpu", NodeShape("cpu", 1), 10),
        ),
        region="east",
        latitude=31.5,
        longitude=120.3,
        pue=1.25,
        power_cap_kw=800.0,
        description="无锡",
    )
    yaml_form = {
        "name": "tianjin",
        "pools": [{"name": "p", "accelerator": "A100", "accelerators_per_node": 8, "nodes": 2}],
    }
    with UnitOfWork(store_engine) as uow:
        uow.sites.add(site)
        uow.sites.add(yaml_form)
        with pytest.raises(DuplicateError):
            uow.sites.add(site)
    with UnitOfWork(store_engine) as uow:
        assert uow.sites.get("wuxi") == site
        assert uow.sites.get_spec("tianjin") == yaml_form
        assert [s.name for s in uow.sites.list_all()] == ["tianjin", "wuxi"]
        uow.sites.put({**yaml_form, "pue": 1.5})
        assert uow.sites.remove("wuxi")
    with UnitOfWork(store_engine, read_only=True) as uow:
        tianjin = uow.sites.get("tianjin")
        assert tianjin is not None and tianjin.pue == 1.5
        assert uow.sites.get("wuxi") is None


# ------------------------------------------------------------------------------------- jobs


def test_job_spec_round_trip(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab")
    full = JobSpec(
        id="train-1",
        tenant="lab",
        work=Work(reference_s=3600.5, reference_accelerator="A100", efficiency=0.5),
        kind=JobKind.TRAINING,
        submit_time=1700000000.125,
        accelerators=16,
        accelerator_types=frozenset({"H800", "A800"}),
        precision=Precision.BF16,
        cpu_milli=64_000,
        memory_mib=512_000,
        priority=7,
        preemptible=True,
        estimated_s=4000.0,
        command="torchrun train.py --lr 3e-4",
        labels={"team": "视觉", "run": "42"},
    )
    flops = JobSpec(
        id="infer-1",
        tenant="lab",
        work=Work(flops=1.5e18),
        kind=JobKind.INFERENCE,
        accelerator_milli=250,
        submit_time=3.0,
    )
    with UnitOfWork(store_engine) as uow:
        added = uow.jobs.add(full, extra={"env": {"SEED": "1"}, "time_limit_s": 7200})
        uow.jobs.add(flops, submitted_at=99.0, pending_reason=PendingReason.WAITING_FOR_QUOTA)
    assert added.spec is full
    with UnitOfWork(store_engine, read_only=True) as uow:
        got = uow.jobs.get("train-1")
        other = uow.jobs.get("infer-1")
        assert uow.jobs.get("nope") is None
        assert uow.jobs.exists("infer-1") and not uow.jobs.exists("nope")
    assert got is not None and other is not None
    assert got.spec == full
    assert JobSpec.from_dict(got.spec_data) == full
    assert got.spec_data["env"] == {"SEED": "1"} and got.spec_data["time_limit_s"] == 7200
    assert got == added
    assert (got.state, got.pending_reason, got.attempt) == (JobState.PENDING, PendingReason.NONE, 0)
    assert got.submitted_at == full.submit_time and got.priority == 7
    assert other.spec == flops and other.submitted_at == 99.0
    assert other.pending_reason is PendingReason.WAITING_FOR_QUOTA
    assert job_spec_to_dict(other.spec)["work"] == {
        "reference_accelerator": "V100",
        "efficiency": 0.4,
        "flops": 1.5e18,
    }


def test_duplicate_job_id_is_rejected_and_the_transaction_goes_on(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab")
    with UnitOfWork(store_engine) as uow:
        uow.jobs.add(job("a"))
    with UnitOfWork(store_engine) as uow:
        with pytest.raises(DuplicateJobError, match="job 'a' already exists") as info:
            uow.jobs.add(job("a", submit=5.0))
        assert info.value.names == ["a"]
        uow.jobs.add(job("b"))  # still usable, PostgreSQL included
    with UnitOfWork(store_engine) as uow:
        with pytest.raises(DuplicateJobError) as info:
            uow.jobs.add_many([job("c"), job("a"), job("d"), job("b")])
        assert info.value.names == ["a", "b"]
    with (
        UnitOfWork(store_engine) as uow,
        pytest.raises(DuplicateJobError, match="job 'e' already exists"),
    ):
        uow.jobs.add_many([job("e"), job("f"), job("e")])
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.jobs.count() == 2
        record = uow.jobs.get("a")
        assert record is not None and record.submitted_at == 0.0


def test_job_for_unknown_tenant(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab")
    with (
        pytest.raises(NotFoundError, match="tenant 'ghost' does not exist"),
        UnitOfWork(store_engine) as uow,
    ):
        uow.jobs.add(job("x", tenant="ghost"))
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.jobs.count() == 0


def test_bulk_add_spans_several_statements(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab")
    specs = [job(f"bulk-{i:04d}", submit=float(i % 7)) for i in range(1_203)]
    with UnitOfWork(store_engine) as uow:
        records = uow.jobs.add_many(specs, now=10.0)
    assert [r.id for r in records] == [s.id for s in specs]
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.jobs.count(tenant="lab", states=JobState.PENDING) == 1_203
        assert len(uow.jobs.get_many(s.id for s in specs[::2])) == 602


def test_list_filters_and_paging_are_stable(store_engine: Engine) -> None:
    with_tenants(store_engine, "a", "b")
    states = [JobState.PENDING, JobState.RUNNING, JobState.SUCCEEDED]
    specs = [job(f"j{i:02d}", tenant="ab"[i % 2], submit=float(i // 4)) for i in range(30)]
    with UnitOfWork(store_engine) as uow:
        uow.jobs.add_many(specs)
        for i, spec in enumerate(specs):
            if states[i % 3] is not JobState.PENDING:
                assert uow.jobs.update(spec.id, state=states[i % 3])
    expected = sorted(specs, key=lambda s: (s.submit_time, s.id))

    def collect(newest_first: bool, keyset: bool, **filters: Any) -> list[str]:
        seen: list[str] = []
        offset, after = 0, None
        with UnitOfWork(store_engine, read_only=True) as uow:
            while True:
                page = uow.jobs.page(
                    limit=7,
                    offset=0 if keyset else offset,
                    after=after if keyset else None,
                    newest_first=newest_first,
                    **filters,
                )
                seen += [r.id for r in page.items]
                if page.next_offset is None:
                    assert len(page.items) <= 7
                    return seen
                assert len(page.items) == 7
                offset, after = page.next_offset, page.next_after

    everything = [s.id for s in expected]
    assert collect(False, True) == everything
    assert collect(False, False) == everything
    assert collect(True, True) == everything[::-1]
    assert collect(True, False) == everything[::-1]
    a_ids = [s.id for s in expected if s.tenant == "a"]
    assert collect(False, True, tenant="a") == a_ids
    running_or_done = [s.id for i, s in enumerate(specs) if states[i % 3] is not JobState.PENDING]
    got = collect(False, True, states=[JobState.RUNNING, JobState.SUCCEEDED])
    assert sorted(got) == sorted(running_or_done)
    assert got == [i for i in everything if i in set(running_or_done)]
    b_running = collect(False, False, tenant="b", states=JobState.RUNNING)
    assert b_running == [
        s.id for s in expected if s.tenant == "b" and states[int(s.id[1:]) % 3] is JobState.RUNNING
    ]
    with UnitOfWork(store_engine, read_only=True) as uow:
        with pytest.raises(ValueError, match="limit"):
            uow.jobs.page(limit=501)
        assert len(uow.jobs.page(limit=500).items) == 30
        assert uow.jobs.counts_by_state("a")[JobState.RUNNING] == 5
        assert [r.id for r in uow.jobs.active()] == [
            i for i in everything if i not in {s.id for k, s in enumerate(specs) if k % 3 == 2}
        ]


def test_update_job_status(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab")
    with UnitOfWork(store_engine) as uow:
        uow.jobs.add(job("j", accelerators=8), now=1.0)
    placement = {"site": "wuxi", "pool": "h800", "slots": [{"node": 0, "devices": [0, 1]}]}
    with UnitOfWork(store_engine) as uow:
        assert uow.jobs.update(
            "j",
            state=JobState.RUNNING,
            pending_reason=PendingReason.NONE,
            placement=placement,
            run_id="slurm-123",
            started_at=10.0,
            next_attempt=True,
            expect_state=JobState.PENDING,
            now=10.0,
        )
        # Compare-and-set: not pending any more.
        assert not uow.jobs.update("j", state=JobState.CANCELLED, expect_state=JobState.PENDING)
        assert not uow.jobs.update("missing", state=JobState.FAILED)
    with UnitOfWork(store_engine) as uow:
        record = uow.jobs.get("j")
        assert record is not None
        assert (record.state, record.attempt, record.run_id) == (JobState.RUNNING, 1, "slurm-123")
        assert record.placement == placement and record.started_at == 10.0
        assert record.updated_at == 10.0
        # preempted, relaunched: attempt 2; the old placement and run id cleared meanwhile
        uow.jobs.update(
            "j",
            state=JobState.PREEMPTED,
            pending_reason=PendingReason.PREEMPTED,
            placement=None,
            run_id=None,
        )
        uow.jobs.update("j", state=JobState.RUNNING, next_attempt=True, run_id="slurm-124")
        uow.jobs.update(
            "j",
            state=JobState.FAILED,
            exit_code=137,
            finished_at=50.0,
            message="OOM",
            expect_state=[JobState.RUNNING, JobState.STAGING],
        )
        uow.jobs.set_pending_reasons({"j": PendingReason.WAITING_FOR_RESOURCES}, now=60.0)
    with UnitOfWork(store_engine, read_only=True) as uow:
        record = uow.jobs.get("j")
        assert record is not None
        assert (record.state, record.attempt, record.exit_code) == (JobState.FAILED, 2, 137)
        assert (record.run_id, record.placement, record.message) == ("slurm-124", None, "OOM")
        assert record.pending_reason is PendingReason.WAITING_FOR_RESOURCES
        assert (record.started_at, record.finished_at) == (10.0, 50.0)
    with UnitOfWork(store_engine) as uow, pytest.raises(ValueError):
        uow.jobs.update("j", attempt=3, next_attempt=True)


# ----------------------------------------------------------------------------------- events


def test_events_append_in_order(store_engine: Engine) -> None:
    with_tenants(store_engine, "lab", "other")
    with UnitOfWork(store_engine) as uow:
        uow.jobs.add_many([job("a"), job("b"), job("c", tenant="other")])
        first = uow.events.append(JobEvent(1.0, "a", EventKind.SUBMITTED))
        uow.events.append_many(
            [
                JobEvent(1.0, "b", EventKind.SUBMITTED),
                JobEvent(2.0, "a", EventKind.STARTED, "wuxi/h800"),
                JobEvent(1.5, "c", EventKind.SUBMITTED),
                JobEvent(2.0, "a", EventKind.PREEMPTED),  # same time: append order decides
                JobEvent(3.0, "a", EventKind.STARTED),
                JobEvent(9.0, "a", EventKind.SUCCEEDED, "exit 0"),
            ]
        )
    with UnitOfWork(store_engine, read_only=True) as uow:
        events = uow.events.for_job("a")
        assert [e.kind for e in events] == [
            EventKind.SUBMITTED,
            EventKind.STARTED,
            EventKind.PREEMPTED,
            EventKind.STARTED,
            EventKind.SUCCEEDED,
        ]
        assert events[1] == JobEvent(2.0, "a", EventKind.STARTED, "wuxi/h800")
        assert uow.events.for_job("nope") == []
        feed = uow.events.since(0)
        assert [r.id for r in feed] == sorted(r.id for r in feed) and feed[0].id == first
        assert len(feed) == 7
        assert [r.event.job_id for r in uow.events.since(feed[2].id, limit=2)] == ["c", "a"]
        assert {r.event.job_id for r in uow.events.since(0, tenant="other")} == {"c"}


# ------------------------------------------------------------------------------ transactions


def test_a_failing_unit_of_work_leaves_nothing_behind(store_engine: Engine) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), UnitOfWork(store_engine) as uow:
        uow.tenants.add(Tenant("lab"))
        token = uow.tokens.create("lab")
        uow.sites.add({"name": "s", "pools": []})
        uow.jobs.add(job("a"))
        uow.events.append(JobEvent(0.0, "a", EventKind.SUBMITTED))
        uow.jobs.update("a", state=JobState.RUNNING)
        raise Boom
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.tenants.list_all() == []
        assert uow.tokens.authenticate(token.token) is None
        assert uow.sites.list_all() == []
        assert uow.jobs.count() == 0
        assert uow.events.since(0) == []
    with UnitOfWork(store_engine) as uow:
        uow.tenants.add(Tenant("lab"))
        uow.commit()  # an explicit commit keeps what came before
        uow.jobs.add(job("a"))
        uow.rollback()
        uow.jobs.add(job("b"))
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert [r.id for r in uow.jobs.page().items] == ["b"]
    work = UnitOfWork(store_engine)
    with work, pytest.raises(RuntimeError, match="twice"):
        work.__enter__()
    with pytest.raises(RuntimeError, match="not open"):
        _ = work.connection


def test_two_engines_write_concurrently(store_engine: Engine, store_url: str) -> None:
    """Two engines (two processes' worth of pools) read-then-write the same database."""
    with_tenants(store_engine, "lab")
    other = make_engine(store_url)
    errors: list[BaseException] = []
    per_thread = 60

    def writer(engine: Engine, prefix: str) -> None:
        try:
            for i in range(per_thread):
                with UnitOfWork(engine) as uow:
                    before = uow.jobs.count()  # a read first, then writes
                    uow.jobs.add(job(f"{prefix}-{i}", submit=float(before)))
                    uow.events.append(JobEvent(float(i), f"{prefix}-{i}", EventKind.SUBMITTED))
                with UnitOfWork(engine, read_only=True) as uow:
                    uow.jobs.page(limit=5, newest_first=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(engine, prefix))
        for engine, prefix in ((store_engine, "x"), (other, "y"), (store_engine, "z"))
    ]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        other.dispose()
    assert errors == []
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert uow.jobs.count() == 3 * per_thread
        assert len(uow.events.since(0, limit=500)) == 3 * per_thread


# ------------------------------------------------------------------------------------ usage


def test_usage_per_tenant(store_engine: Engine) -> None:
    with_tenants(store_engine, "a", "b", "idle")
    with UnitOfWork(store_engine) as uow:
        uow.jobs.add_many(
            [
                job("done", "a", accelerators=8),
                job("running", "a", accelerators=2),
                job("fraction", "a", accelerator_milli=250),
                job("waiting", "a", accelerators=4),
                job("cancelled-early", "a", accelerators=4),
                job("cpu", "b", accelerators=0, cpu_milli=4000),
                job("b-failed", "b", accelerators=1),
            ]
        )
        uow.jobs.update("done", state=JobState.SUCCEEDED, started_at=100.0, finished_at=200.0)
        uow.jobs.update("running", state=JobState.RUNNING, started_at=900.0)
        uow.jobs.update("fraction", state=JobState.RUNNING, started_at=600.0)
        uow.jobs.update("cancelled-early", state=JobState.CANCELLED, finished_at=50.0)
        uow.jobs.update("cpu", state=JobState.RUNNING, started_at=0.0)
        uow.jobs.update("b-failed", state=JobState.FAILED, started_at=10.0, finished_at=40.0)
    with UnitOfWork(store_engine, read_only=True) as uow:
        usage = uow.jobs.usage(now=1000.0)
        only_b = uow.jobs.usage(now=1000.0, tenant="b")
    assert list(usage) == ["a", "b", "idle"]
    a = usage["a"]
    assert a.device_seconds == pytest.approx(8 * 100 + 2 * 100 + 0.25 * 400)
    assert a.jobs[JobState.RUNNING] == 2 and a.jobs[JobState.PENDING] == 1
    assert a.jobs[JobState.SUCCEEDED] == 1 and a.jobs[JobState.CANCELLED] == 1
    assert (a.active, a.total) == (3, 5)
    assert usage["b"].device_seconds == pytest.approx(30.0)
    assert usage["idle"].total == 0 and usage["idle"].device_seconds == 0.0
    assert only_b == {"b": usage["b"]}


# --------------------------------------------------------------------------- crash safety

_CRASH_WRITER = textwrap.dedent(
    """
    import sys
    from computenet.domain.events import EventKind, JobEvent
    from computenet.domain.jobs import JobSpec, JobState, Work
    from computenet.store.db import make_engine
    from computenet.store.uow import UnitOfWork

    engine = make_engine(sys.argv[1])
    i = 0
    while True:
        with UnitOfWork(engine) as uow:
            uow.jobs.add(JobSpec(f"k{i}", "lab", Work(reference_s=1.0), submit_time=float(i)))
            uow.events.append(JobEvent(float(i), f"k{i}", EventKind.SUBMITTED))
            uow.jobs.update(f"k{i}", state=JobState.RUNNING, started_at=float(i))
            uow.events.append(JobEvent(float(i), f"k{i}", EventKind.STARTED))
        print(i, flush=True)
        i += 1
    """
)


def test_kill_9_keeps_whole_units_of_work(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    with_tenants(engine, "lab")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRASH_WRITER, url],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    committed = -1
    deadline = time.monotonic() + 20
    while committed < 50 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        committed = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert committed >= 50
    try:
        with UnitOfWork(engine) as uow:
            count = uow.jobs.count()
            assert count >= committed + 1  # every acknowledged commit survived
            assert uow.jobs.count(states=JobState.RUNNING) == count
            events = uow.connection.execute(select(func.count()).select_from(tables.job_events))
            assert events.scalar_one() == 2 * count
            uow.jobs.add(job(f"k{count}"))  # and the database is writable again
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()
