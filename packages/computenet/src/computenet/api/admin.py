"""/v1/tenants, /v1/sites, /v1/usage."""

import time
from typing import Any

from fastapi import APIRouter, HTTPException, status

from computenet.api.deps import AdminDep, PrincipalDep, RuntimeDep
from computenet.api.schemas import (
    SitePublic,
    TenantCreate,
    TenantCreated,
    TenantPublic,
    UsagePublic,
)
from computenet.data import load_catalog
from computenet.domain.errors import DomainError
from computenet.domain.network import Network, Site
from computenet.domain.tenants import Tenant
from computenet.service.site_backends import parse_backend
from computenet.store.errors import DuplicateError
from computenet.store.uow import UnitOfWork

router = APIRouter(prefix="/v1", tags=["network"])


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantCreated)
def add_tenant(body: TenantCreate, runtime: RuntimeDep, _: AdminDep) -> TenantCreated:
    try:
        with UnitOfWork(runtime.engine) as uow:
            uow.tenants.add(Tenant(body.name, body.weight, dict(body.quota)))
            issued = uow.tokens.create(body.name, label=f"tenant {body.name}")
    except DuplicateError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"tenant {body.name} exists") from None
    return TenantCreated(
        name=body.name, weight=body.weight, quota=dict(body.quota), token=issued.token
    )


@router.get("/tenants", response_model=list[TenantPublic])
def list_tenants(runtime: RuntimeDep, who: PrincipalDep) -> list[TenantPublic]:
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        tenants = uow.tenants.list_all()
    return [
        TenantPublic(name=t.name, weight=t.weight, quota=dict(t.quota))
        for t in tenants
        if who.admin or t.name == who.tenant
    ]


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
