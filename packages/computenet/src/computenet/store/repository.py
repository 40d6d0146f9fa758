"""Repositories: the store's operations, each on the unit of work's connection.

A repository never commits: the `UnitOfWork` that created it owns the transaction, so every
state change a service makes inside one ``with UnitOfWork(engine) as uow:`` block is applied
whole or not at all. Repositories return plain frozen records (no ORM objects), safe to use
after the unit of work has closed.

Timestamps are floats (epoch seconds). Methods that write a timestamp take ``now``; when it is
omitted the wall clock (`time.time`) is used.
"""

import hashlib
import secrets
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import ReturningInsert

from computenet.domain.events import EventKind, JobEvent
from computenet.domain.jobs import JobSpec, JobState, PendingReason
from computenet.domain.network import Site
from computenet.domain.tenants import Tenant
from computenet.store import tables as t
from computenet.store.codec import job_spec_to_dict, site_from_dict, site_to_dict
from computenet.store.errors import DuplicateError, DuplicateJobError, NotFoundError

MAX_PAGE: Final = 500
#: Ids per IN (...) list (SQLite allows 32,766 bound variables).
IN_CHUNK: Final = 500
#: Jobs whose devices are held: usage runs until now while a job is in one of these states.
HOLDING_STATES: Final = frozenset({JobState.STAGING, JobState.RUNNING})
ACTIVE_STATES: Final = frozenset(s for s in JobState if not s.terminal)


class _Unset(Enum):
    UNSET = 0


#: "Leave this column as it is" for the nullable columns of `JobsRepository.update`.
UNSET: Final = _Unset.UNSET


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def hash_token(token: str) -> str:
    """The form a token is stored in: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _insert(conn: Connection, table: Table) -> pg_dialect.Insert | sqlite_dialect.Insert:
    """An INSERT with ON CONFLICT support for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return pg_dialect.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite_dialect.insert(table)
    raise NotImplementedError(f"unsupported dialect {conn.dialect.name}")


@cache
def _insert_new_jobs(dialect: str) -> ReturningInsert[Any]:
    """INSERT jobs … ON CONFLICT (id) DO NOTHING RETURNING id, built once (compile cache)."""
    base = pg_dialect.insert(t.jobs) if dialect == "postgresql" else sqlite_dialect.insert(t.jobs)
    return base.on_conflict_do_nothing(index_elements=["id"]).returning(t.jobs.c.id)


_INSERT_EVENT: Final = t.job_events.insert().returning(t.job_events.c.id)
_AUTHENTICATE: Final = select(t.tokens.c.id, t.tokens.c.tenant, t.tokens.c.revoked).where(
    t.tokens.c.token_hash == bindparam("token_hash")
)


def _is_foreign_key_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23503")
    return "FOREIGN KEY" in str(exc.orig).upper()


# ------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token belongs to: a tenant, or an administrator (tenant None)."""

    tenant: str | None
    admin: bool
    token_id: int | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token. `token` is the clear value: it is shown once and never stored."""

    id: int
    token: str = field(repr=False)
    tenant: str | None
    label: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    tenant: str | None
    label: str
    created_at: float
    revoked: bool


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A stored job: the spec as submitted plus its current status."""

    spec: JobSpec
    state: JobState
    pending_reason: PendingReason
    priority: int
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    attempt: int
    placement: dict[str, Any] | None
    run_id: str | None
    exit_code: int | None
    message: str
    updated_at: float
    # The stored spec mapping (JobSpec.from_dict form plus any extra keys given at add).
    spec_data: dict[str, Any] = field(compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def tenant(self) -> str:
        return self.spec.tenant


@dataclass(frozen=True, slots=True)
class JobPage:
    """One page of jobs. Continue with ``offset=next_offset`` or ``after=next_after``."""

    items: list[JobRecord]
    next_offset: int | None  # None: this is the last page
    next_after: tuple[float, str] | None  # keyset cursor (submitted_at, id) of the last item


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event with its store id (ids increase in append order)."""

    id: int
    event: JobEvent


@dataclass(frozen=True, slots=True)
class TenantUsage:
    tenant: str
    jobs: dict[JobState, int]  # every state present, zero included
    device_seconds: float  # accelerator-seconds used, fractional shares counted as such

    @property
    def active(self) -> int:
        return sum(n for s, n in self.jobs.items() if not s.terminal)

    @property
    def total(self) -> int:
        return sum(self.jobs.values())


# ---------------------------------------------------------------------------- repositories


class _Repository:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection


class TenantsRepository(_Repository):
    """Tenants as domain `Tenant` objects: weight, quota, cohort and limits."""

    @staticmethod
    def _values(tenant: Tenant) -> dict[str, Any]:
        return {
            "weight": tenant.weight,
            "quota": dict(tenant.quota),
            "cohort": tenant.cohort,
            "borrowing_limit": dict(tenant.borrowing_limit),
            "lending_limit": dict(tenant.lending_limit),
        }

    def add(self, tenant: Tenant, *, now: float | None = None) -> None:
        """Add a tenant; `DuplicateError` when the name is taken."""
        stmt = (
            _insert(self._conn, t.tenants)
            .values(name=tenant.name, created_at=_now(now), **self._values(tenant))
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(t.tenants.c.name)
        )
        if self._conn.execute(stmt).first() is None:
            raise DuplicateError("tenant", [tenant.name])

    def put(self, tenant: Tenant, *, now: float | None = None) -> None:
        """Add a tenant, or update everything but the creation time of an existing one."""
        values = self._values(tenant)
        base = _insert(self._conn, t.tenants).values(
            name=tenant.name, created_at=_now(now), **values
        )
        stmt = base.on_conflict_do_update(
            index_elements=["name"], set_={k: base.excluded[k] for k in values}
        )
        self._conn.execute(stmt)

    def update(self, tenant: Tenant) -> None:
        """Replace an existing tenant's settings; `NotFoundError` when there is none."""
        stmt = (
            update(t.tenants)
            .where(t.tenants.c.name == tenant.name)
            .values(**self._values(tenant))
            .returning(t.tenants.c.name)
        )
        if self._conn.execute(stmt).first() is None:
            raise NotFoundError("tenant", tenant.name)

    def get(self, name: str, *, for_update: bool = False) -> Tenant | None:
        """A tenant; `for_update` locks its row until the unit of work ends (PostgreSQL;
        SQLite's write transaction already excludes other writers)."""
        stmt = select(t.tenants).where(t.tenants.c.name == name)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._conn.execute(stmt).first()
        return None if row is None else self._tenant(row)

    def list_all(self) -> list[Tenant]:
        rows = self._conn.execute(select(t.tenants).order_by(t.tenants.c.name))
        return [self._tenant(r) for r in rows]

    @staticmethod
    def _tenant(row: Row[*tuple[Any, ...]]) -> Tenant:
        def counts(value: Mapping[str, Any] | None) -> dict[str, int]:
            return {str(k): int(v) for k, v in (value or {}).items()}

        return Tenant(
            name=row.name,
            weight=float(row.weight),
            quota=counts(row.quota),
            cohort=row.cohort or "network",
            borrowing_limit=counts(row.borrowing_limit),
            lending_limit=counts(row.lending_limit),
        )


class TokensRepository(_Repository):
    def create(
        self, tenant: str | None, label: str = "", *, now: float | None = None
    ) -> IssuedToken:
        """Issue a token for `tenant` (None: an administrator token).

        Returns the clear token, once; only its SHA-256 is stored. `NotFoundError` when the
        tenant does not exist.
        """
        if tenant is not None:
            exists = self._conn.execute(
                select(literal(1)).where(t.tenants.c.name == tenant)
            ).first()
            if exists is None:
                raise NotFoundError("tenant", tenant)
        token = secrets.token_urlsafe(32)
        token_id = self._conn.execute(
            t.tokens.insert()
            .values(
                tenant=tenant,
                token_hash=hash_token(token),
                label=label,
                created_at=_now(now),
                revoked=False,
            )
            .returning(t.tokens.c.id)
        ).scalar_one()
        return IssuedToken(id=int(token_id), token=token, tenant=tenant, label=label)

    def authenticate(self, token: str) -> Principal | None:
        """The principal a clear token stands for; None for an unknown or revoked token."""
        if not token:
            return None
        row = self._conn.execute(_AUTHENTICATE, {"token_hash": hash_token(token)}).first()
        if row is None or row.revoked:
            return None
        return Principal(tenant=row.tenant, admin=row.tenant is None, token_id=int(row.id))

    def revoke(self, token_id: int) -> bool:
        """Revoke a token; False when there is no such token."""
        result = self._conn.execute(
            update(t.tokens).where(t.tokens.c.id == token_id).values(revoked=True)
        )
        return result.rowcount == 1

    def list_all(self, tenant: str | None = None, *, admins: bool = False) -> list[TokenInfo]:
        """Tokens (never their value): all, a tenant's, or (``admins=True``) the administrators'."""
        stmt = select(
            t.tokens.c.id,
            t.tokens.c.tenant,
            t.tokens.c.label,
            t.tokens.c.created_at,
            t.tokens.c.revoked,
        ).order_by(t.tokens.c.id)
        if admins:
            stmt = stmt.where(t.tokens.c.tenant.is_(None))
        elif tenant is not None:
            stmt = stmt.where(t.tokens.c.tenant == tenant)
        return [
            TokenInfo(
                id=int(r.id),
                tenant=r.tenant,
                label=r.label,
                created_at=float(r.created_at),
                revoked=bool(r.revoked),
            )
            for r in self._conn.execute(stmt)
        ]


class SitesRepository(_Repository):
    def add(self, site: Site | Mapping[str, Any], *, now: float | None = None) -> None:
        """Add a site (a `Site`, or its YAML mapping, validated); `DuplicateError` if taken."""
        spec = self._spec(site)
        ts = _now(now)
        stmt = (
            _insert(self._conn, t.sites)
            .values(name=spec["name"], spec=spec, created_at=ts, updated_at=ts)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(t.sites.c.name)
        )
        if self._conn.execute(stmt).first() is None:
            raise DuplicateError("site", [spec["name"]])

    def put(self, site: Site | Mapping[str, Any], *, now: float | None = None) -> None:
        """Add a site or replace the spec of an existing one."""
        spec = self._spec(site)
        ts = _now(now)
        base = _insert(self._conn, t.sites).values(
            name=spec["name"], spec=spec, created_at=ts, updated_at=ts
        )
        stmt = base.on_conflict_do_update(
            index_elements=["name"],
            set_={"spec": base.excluded.spec, "updated_at": base.excluded.updated_at},
        )
        self._conn.execute(stmt)

    def get(self, name: str) -> Site | None:
        spec = self.get_spec(name)
        return None if spec is None else site_from_dict(spec)

    def get_spec(self, name: str) -> dict[str, Any] | None:
        row = self._conn.execute(select(t.sites.c.spec).where(t.sites.c.name == name)).first()
        return None if row is None else dict(row.spec)

    def list_all(self) -> list[Site]:
        rows = self._conn.execute(select(t.sites.c.spec).order_by(t.sites.c.name))
        return [site_from_dict(r.spec) for r in rows]

    def remove(self, name: str) -> bool:
        return self._conn.execute(delete(t.sites).where(t.sites.c.name == name)).rowcount == 1

    @staticmethod
    def _spec(site: Site | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(site, Site):
            return site_to_dict(site)
        data = dict(site)
        site_from_dict(data)  # validate: raises DomainError
        return data


_JOB_COLUMNS = (
    t.jobs.c.spec,
    t.jobs.c.state,
    t.jobs.c.pending_reason,
    t.jobs.c.priority,
    t.jobs.c.submitted_at,
    t.jobs.c.started_at,
    t.jobs.c.finished_at,
    t.jobs.c.attempt,
    t.jobs.c.placement,
    t.jobs.c.run_id,
    t.jobs.c.exit_code,
    t.jobs.c.message,
    t.jobs.c.updated_at,
)


_GET_JOB: Final = select(*_JOB_COLUMNS).where(t.jobs.c.id == bindparam("job_id"))


def _job_record(row: Row[*tuple[Any, ...]]) -> JobRecord:
    spec_data: dict[str, Any] = row.spec
    return JobRecord(
        spec=JobSpec.from_dict(spec_data),
        state=JobState(row.state),
        pending_reason=PendingReason(row.pending_reason),
        priority=int(row.priority),
        submitted_at=float(row.submitted_at),
        started_at=None if row.started_at is None else float(row.started_at),
        finished_at=None if row.finished_at is None else float(row.finished_at),
        attempt=int(row.attempt),
        placement=row.placement,
        run_id=row.run_id,
        exit_code=row.exit_code,
        message=row.message,
        updated_at=float(row.updated_at),
        spec_data=spec_data,
    )


def _states(states: JobState | Iterable[JobState] | None) -> list[str] | None:
    if states is None:
        return None
    if isinstance(states, JobState):
        return [states.value]
    return [JobState(s).value for s in states]


class JobsRepository(_Repository):
    def add(
        self,
        spec: JobSpec,
        submitted_at: float | None = None,
        *,
        state: JobState = JobState.PENDING,
        pending_reason: PendingReason = PendingReason.NONE,
        extra: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> JobRecord:
        """Store a new job (one statement). `submitted_at` defaults to ``spec.submit_time``.

        `DuplicateJobError` when the id is taken (the transaction stays usable);
        `NotFoundError` when the tenant does not exist (the transaction must be rolled back).
        `extra` keys are stored in the spec mapping beside the JobSpec fields (say ``env``,
        ``time_limit_s``); `JobSpec.from_dict` ignores them, `JobRecord.spec_data` has them.
        """
        return self.add_many(
            [spec],
            submitted_at=submitted_at,
            state=state,
            pending_reason=pending_reason,
            extras=None if extra is None else [extra],
            now=now,
        )[0]

    def add_many(
        self,
        specs: Sequence[JobSpec],
        *,
        submitted_at: float | None = None,
        state: JobState = JobState.PENDING,
        pending_reason: PendingReason = PendingReason.NONE,
        extras: Sequence[Mapping[str, Any] | None] | None = None,
        now: float | None = None,
    ) -> list[JobRecord]:
        """Store new jobs: one INSERT (batched into multi-row VALUES by SQLAlchemy).

        All or nothing: when any id is taken (or repeated in `specs`), `DuplicateJobError`
        names them and none of `specs` is stored (the transaction stays usable).
        """
        if extras is not None and len(extras) != len(specs):
            raise ValueError("extras: one entry per spec")
        ids = [s.id for s in specs]
        if len(set(ids)) != len(ids):
            raise DuplicateJobError(i for i, n in Counter(ids).items() if n > 1)
        ts = _now(now)
        rows: list[dict[str, Any]] = []
        records: list[JobRecord] = []
        for n, spec in enumerate(specs):
            data = job_spec_to_dict(spec)
            extra = None if extras is None else extras[n]
            if extra:
                data = {**extra, **data}
            sub = spec.submit_time if submitted_at is None else submitted_at
            rows.append(
                {
                    "id": spec.id,
                    "tenant": spec.tenant,
                    "spec": data,
                    "state": state.value,
                    "pending_reason": pending_reason.value,
                    "priority": spec.priority,
                    "device_milli": spec.device_milli,
                    "submitted_at": sub,
                    "started_at": None,
                    "finished_at": None,
                    "attempt": 0,
                    "placement": None,
                    "run_id": None,
                    "exit_code": None,
                    "message": "",
                    "updated_at": ts,
                }
            )
            records.append(
                JobRecord(
                    spec=spec,
                    state=state,
                    pending_reason=pending_reason,
                    priority=spec.priority,
                    submitted_at=sub,
                    started_at=None,
                    finished_at=None,
                    attempt=0,
                    placement=None,
                    run_id=None,
                    exit_code=None,
                    message="",
                    updated_at=ts,
                    spec_data=data,
                )
            )
        if not rows:
            return records
        stmt = _insert_new_jobs(self._conn.dialect.name)
        try:
            result = self._conn.execute(stmt, rows[0] if len(rows) == 1 else rows)
            inserted = set(result.scalars())
        except IntegrityError as exc:
            if _is_foreign_key_violation(exc):
                raise NotFoundError("tenant", self._missing_tenant(rows)) from exc
            raise
        if len(inserted) != len(ids):
            if inserted:  # undo the part that went in: all or nothing
                self._conn.execute(delete(t.jobs).where(t.jobs.c.id.in_(sorted(inserted))))
            raise DuplicateJobError(i for i in ids if i not in inserted)
        return records

    def _missing_tenant(self, rows: Sequence[Mapping[str, Any]]) -> str:
        wanted = sorted({str(r["tenant"]) for r in rows})
        if len(wanted) > 1 and self._conn.dialect.name == "sqlite":
            # SQLite rolled back the statement only: the transaction can still be read.
            stmt = select(t.tenants.c.name).where(t.tenants.c.name.in_(wanted))
            known = set(self._conn.execute(stmt).scalars())
            wanted = [name for name in wanted if name not in known] or wanted
        return ", ".join(wanted)

    def get(self, job_id: str) -> JobRecord | None:
        row = self._conn.execute(_GET_JOB, {"job_id": job_id}).first()
        return None if row is None else _job_record(row)

    def get_many(self, job_ids: Iterable[str]) -> dict[str, JobRecord]:
        """The jobs of `job_ids` that exist, by id."""
        wanted = list(dict.fromkeys(job_ids))
        found: dict[str, JobRecord] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            for row in self._conn.execute(select(*_JOB_COLUMNS).where(t.jobs.c.id.in_(chunk))):
                record = _job_record(row)
                found[record.id] = record
        return found

    def exists(self, job_id: str) -> bool:
        stmt = select(literal(1)).where(t.jobs.c.id == job_id)
        return self._conn.execute(stmt).first() is not None

    def page(
        self,
        *,
        tenant: str | None = None,
        states: JobState | Iterable[JobState] | None = None,
        limit: int = 100,
        offset: int = 0,
        after: tuple[float, str] | None = None,
        newest_first: bool = False,
    ) -> JobPage:
        """Jobs ordered by (submitted_at, id), oldest first unless `newest_first`.

        Page with `offset` or, stable under concurrent inserts, with the keyset cursor
        `after` = (submitted_at, id) of the last job seen (`JobPage.next_after`).
        `limit` is 1..500.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be in 1..{MAX_PAGE}, got {limit}")
        if offset < 0:
            raise ValueError("offset must be >= 0")
        stmt = self._filtered(select(*_JOB_COLUMNS), tenant, states)
        sub, jid = t.jobs.c.submitted_at, t.jobs.c.id
        if after is not None:
            a_sub, a_id = float(after[0]), str(after[1])
            if newest_first:
                stmt = stmt.where(or_(sub < a_sub, and_(sub == a_sub, jid < a_id)))
            else:
                stmt = stmt.where(or_(sub > a_sub, and_(sub == a_sub, jid > a_id)))
        order = (sub.desc(), jid.desc()) if newest_first else (sub.asc(), jid.asc())
        stmt = stmt.order_by(*order).limit(limit + 1)
        if offset:
            stmt = stmt.offset(offset)
        items = [_job_record(r) for r in self._conn.execute(stmt)]
        more = len(items) > limit
        del items[limit:]
        if not more:
            return JobPage(items, None, None)
        last = items[-1]
        return JobPage(items, offset + limit, (last.submitted_at, last.id))

    def active(self, tenant: str | None = None) -> list[JobRecord]:
        """Every job not in a terminal state, oldest first: what a restarted service resumes."""
        stmt = self._filtered(select(*_JOB_COLUMNS), tenant, ACTIVE_STATES)
        stmt = stmt.order_by(t.jobs.c.submitted_at, t.jobs.c.id)
        return [_job_record(r) for r in self._conn.execute(stmt)]

    def count(
        self, *, tenant: str | None = None, states: JobState | Iterable[JobState] | None = None
    ) -> int:
        stmt = self._filtered(select(func.count()).select_from(t.jobs), tenant, states)
        return int(self._conn.execute(stmt).scalar_one())

    def counts_by_state(self, tenant: str | None = None) -> dict[JobState, int]:
        """Jobs per state (every state present, zero included)."""
        stmt = self._filtered(
            select(t.jobs.c.state, func.count()).group_by(t.jobs.c.state), tenant, None
        )
        counts = dict.fromkeys(JobState, 0)
        for state, n in self._conn.execute(stmt):
            counts[JobState(state)] = int(n)
        return counts

    def update(
        self,
        job_id: str,
        *,
        state: JobState | None = None,
        pending_reason: PendingReason | None = None,
        priority: int | None = None,
        placement: dict[str, Any] | _Unset | None = UNSET,
        run_id: str | _Unset | None = UNSET,
        exit_code: int | _Unset | None = UNSET,
        started_at: float | _Unset | None = UNSET,
        finished_at: float | _Unset | None = UNSET,
        attempt: int | None = None,
        next_attempt: bool = False,
        message: str | None = None,
        expect_state: JobState | Collection[JobState] | None = None,
        now: float | None = None,
    ) -> bool:
        """Change a job's status columns (one UPDATE); only the arguments given change.

        For the nullable columns pass None to clear and leave `UNSET` to keep. `next_attempt`
        increments `attempt` in SQL (do it on each launch). With `expect_state` the row only
        changes when its current state is one of those (a compare-and-set). Returns whether
        a row changed: False for an unknown id or an unexpected state.
        """
        values: dict[str, Any] = {"updated_at": _now(now)}
        if state is not None:
            values["state"] = JobState(state).value
        if pending_reason is not None:
            values["pending_reason"] = PendingReason(pending_reason).value
        if priority is not None:
            values["priority"] = priority
        if placement is not UNSET:
            values["placement"] = placement
        if run_id is not UNSET:
            values["run_id"] = run_id
        if exit_code is not UNSET:
            values["exit_code"] = exit_code
        if started_at is not UNSET:
            values["started_at"] = started_at
        if finished_at is not UNSET:
            values["finished_at"] = finished_at
        if message is not None:
            values["message"] = message
        if next_attempt and attempt is not None:
            raise ValueError("give attempt or next_attempt, not both")
        if next_attempt:
            values["attempt"] = t.jobs.c.attempt + 1
        elif attempt is not None:
            values["attempt"] = attempt
        stmt = update(t.jobs).where(t.jobs.c.id == job_id)
        expected = _states(expect_state)
        if expected is not None:
            stmt = stmt.where(t.jobs.c.state.in_(expected))
        return self._conn.execute(stmt.values(values)).rowcount == 1

    def set_pending_reasons(
        self, reasons: Mapping[str, PendingReason], *, now: float | None = None
    ) -> None:
        """Set many jobs' pending reason at once (one executemany), e.g. after a cycle."""
        if not reasons:
            return
        stmt = (
            update(t.jobs)
            .where(t.jobs.c.id == bindparam("b_id"))
            .values(pending_reason=bindparam("b_reason"), updated_at=bindparam("b_now"))
        )
        ts = _now(now)
        self._conn.execute(
            stmt,
            [
                {"b_id": job_id, "b_reason": PendingReason(r).value, "b_now": ts}
                for job_id, r in reasons.items()
            ],
        )

    def usage(
        self, *, now: float | None = None, tenant: str | None = None
    ) -> dict[str, TenantUsage]:
        """Per tenant: jobs by state and device-seconds used.

        Device-seconds sum, over jobs that started, (finished_at − started_at) for finished
        jobs and (now − started_at) for jobs that hold devices (staging, running), times the
        devices asked for (accelerators × accelerator_milli / 1000). Every tenant (or just
        `tenant`) is present, with zeros when it has no jobs.
        """
        ts = _now(now)
        c = t.jobs.c
        held: ColumnElement[Any] = case(
            (c.started_at.is_(None), literal(0.0)),
            (c.finished_at.is_not(None), (c.finished_at - c.started_at) * c.device_milli),
            (
                c.state.in_([s.value for s in HOLDING_STATES]),
                (literal(ts) - c.started_at) * c.device_milli,
            ),
            else_=literal(0.0),
        )
        stmt: Select[Any] = select(c.tenant, c.state, func.count(), func.sum(held)).group_by(
            c.tenant, c.state
        )
        names = select(t.tenants.c.name)
        if tenant is not None:
            stmt = stmt.where(c.tenant == tenant)
            names = names.where(t.tenants.c.name == tenant)
        jobs: dict[str, dict[JobState, int]] = {
            name: dict.fromkeys(JobState, 0) for name in self._conn.execute(names).scalars()
        }
        milli_s: dict[str, float] = dict.fromkeys(jobs, 0.0)
        for name, state, n, used in self._conn.execute(stmt):
            jobs.setdefault(name, dict.fromkeys(JobState, 0))[JobState(state)] = int(n)
            milli_s[name] = milli_s.get(name, 0.0) + float(used or 0.0)
        return {
            name: TenantUsage(name, jobs[name], milli_s[name] / 1000.0) for name in sorted(jobs)
        }

    @staticmethod
    def _filtered(
        stmt: Select[Any],
        tenant: str | None,
        states: JobState | Iterable[JobState] | None,
    ) -> Select[Any]:
        if tenant is not None:
            stmt = stmt.where(t.jobs.c.tenant == tenant)
        wanted = _states(states)
        if wanted is not None:
            stmt = stmt.where(t.jobs.c.state.in_(wanted))
        return stmt


class EventsRepository(_Repository):
    """The append-only job history."""

    def append(self, event: JobEvent) -> int:
        """Append one event; returns its id."""
        row = {
            "job_id": event.job_id,
            "at": event.at,
            "kind": EventKind(event.kind).value,
            "detail": event.detail,
        }
        return int(self._conn.execute(_INSERT_EVENT, row).scalar_one())

    def append_many(self, events: Iterable[JobEvent]) -> None:
        """Append events in order (one executemany)."""
        rows = [
            {"job_id": e.job_id, "at": e.at, "kind": EventKind(e.kind).value, "detail": e.detail}
            for e in events
        ]
        if rows:
            self._conn.execute(t.job_events.insert(), rows)

    def for_job(self, job_id: str) -> list[JobEvent]:
        """A job's events in append order."""
        stmt = (
            select(t.job_events.c.at, t.job_events.c.kind, t.job_events.c.detail)
            .where(t.job_events.c.job_id == job_id)
            .order_by(t.job_events.c.id)
        )
        return [
            JobEvent(at=float(at), job_id=job_id, kind=EventKind(kind), detail=detail)
            for at, kind, detail in self._conn.execute(stmt)
        ]

    def since(
        self, after_id: int = 0, *, limit: int = MAX_PAGE, tenant: str | None = None
    ) -> list[EventRecord]:
        """Events with an id above `after_id`, in append order (a feed to follow)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be in 1..{MAX_PAGE}, got {limit}")
        e = t.job_events.c
        stmt = select(e.id, e.job_id, e.at, e.kind, e.detail).where(e.id > after_id)
        if tenant is not None:
            stmt = stmt.join(t.jobs, t.jobs.c.id == e.job_id).where(t.jobs.c.tenant == tenant)
        stmt = stmt.order_by(e.id).limit(limit)
        return [
            EventRecord(int(i), JobEvent(float(at), job_id, EventKind(kind), detail))
            for i, job_id, at, kind, detail in self._conn.execute(stmt)
        ]
