"""/v1/tenants (add, change, list), /v1/sites, /v1/usage."""

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, status

from computenet.api.deps import AdminDep, PrincipalDep, RuntimeDep
from computenet.api.schemas import (
    SitePublic,
    TenantCreate,
    TenantCreated,
    TenantPublic,
    TenantUpdate,
    UsagePublic,
)
from computenet.data import load_catalog
from computenet.domain.errors import DomainError
from computenet.domain.hardware import DeviceClass
from computenet.domain.network import Network, Site
from computenet.domain.tenants import ANY, Tenant
from computenet.service.site_backends import parse_backend
from computenet.store.errors import DuplicateError
from computenet.store.uow import UnitOfWork

router = APIRouter(prefix="/v1", tags=["network"])


def _checked(make: Callable[[], Tenant]) -> Tenant:
    """A tenant whose limits fit its quota and whose quota keys the scheduler can match:
    a catalog model's exact name, a device class or "*" (a 422 naming the problem)."""
    try:
        tenant = make()
    except DomainError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    catalog = load_catalog()
    names = {m.name for m in catalog}
    classes = {c.value for c in DeviceClass}
    for key in tenant.quota:
        if key == ANY or key in names or key in classes:
            continue
        hint = f"; did you mean {catalog.get(key).name!r}?" if key in catalog else ""
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"tenant {tenant.name}: quota key {key!r} is not an accelerator model, a device "
            f"class ({', '.join(sorted(classes))}) or '*'{hint}",
        )
    return tenant


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantCreated)
def add_tenant(body: TenantCreate, runtime: RuntimeDep, _: AdminDep) -> TenantCreated:
    tenant = _checked(body.to_tenant)
    try:
        with UnitOfWork(runtime.engine) as uow:
            uow.tenants.add(tenant)
            issued = uow.tokens.create(body.name, label=f"tenant {body.name}")
    except DuplicateError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"tenant {body.name} exists") from None
    runtime.loop.tenants_changed()
    return TenantCreated(**TenantPublic.of(tenant).model_dump(), token=issued.token)


@router.patch("/tenants/{name}", response_model=TenantPublic)
def update_tenant(name: str, body: TenantUpdate, runtime: RuntimeDep, _: AdminDep) -> TenantPublic:
    """Change a tenant's weight, quota, cohort or limits; the scheduler applies it within
    a tick (running jobs keep running; borrowed work may be reclaimed)."""
    with UnitOfWork(runtime.engine) as uow:
        current = uow.tenants.get(name, for_update=True)
        if current is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"tenant {name} does not exist")
        tenant = _checked(lambda: body.apply(current))
        uow.tenants.update(tenant)
    runtime.loop.tenants_changed()
    return TenantPublic.of(tenant)


@router.get("/tenants", response_model=list[TenantPublic])
def list_tenants(runtime: RuntimeDep, who: PrincipalDep) -> list[TenantPublic]:
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        tenants = uow.tenants.list_all()
    return [TenantPublic.of(t) for t in tenants if who.admin or t.name == who.tenant]


def _site_public(s: Site) -> SitePublic:
    return SitePublic(
        name=s.name,
        region=s.region,
        accelerators=s.accelerators,
        pools=[
            {
                "name": p.name,
                "accelerator": p.shape.accelerator,
                "nodes": p.nodes,
                "per_node": p.shape.accelerators,
            }
            for p in s.pools
        ],
    )


@router.get("/sites", response_model=list[SitePublic])
def list_sites(runtime: RuntimeDep, _: PrincipalDep) -> list[SitePublic]:
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        return [_site_public(s) for s in uow.sites.list_all()]


@router.post("/sites", status_code=status.HTTP_201_CREATED, response_model=SitePublic)
def register_site(body: dict[str, Any], runtime: RuntimeDep, _: AdminDep) -> SitePublic:
    """A compute center joins: its pools (YAML form of a network file's site entry)."""
    try:
        site = Network.from_dict({"name": "check", "sites": [body]}).sites[0]
        catalog = load_catalog()
        for pool in site.pools:
            catalog.get(pool.shape.accelerator)
        parse_backend(body.get("backend"), site.name)  # {kind: local|slurm|ray, ...}
    except DomainError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    try:
        with UnitOfWork(runtime.engine) as uow:
            uow.sites.add(body)
    except DuplicateError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"site {site.name} exists") from None
    runtime.loop.site_registered(site.name)
    return _site_public(site)


@router.get("/usage", response_model=list[UsagePublic])
def usage(runtime: RuntimeDep, who: PrincipalDep) -> list[UsagePublic]:
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        per_tenant = uow.jobs.usage(now=time.time(), tenant=None if who.admin else who.tenant)
    return [
        UsagePublic(
            tenant=name,
            jobs={s.value: n for s, n in u.jobs.items()},
            device_hours=u.device_seconds / 3600,
        )
        for name, u in sorted(per_tenant.items())
    ]
