"""Wiring: the store, the network, one backend per site (local unless the site's
`backend:` entry names Slurm or Ray, see `site_backends`) and the control loop, with a
thread that ticks the loop. Used by `create_app` and by tests alike."""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from computenet.backends.base import ExecutionBackend
from computenet.data import load_catalog, load_network
from computenet.domain.network import Network
from computenet.scheduling.policies import make_policy
from computenet.service.loop import ControlLoop
from computenet.service.settings import Settings
from computenet.service.site_backends import backend_entries, make_backend, parse_backend
from computenet.store.codec import site_to_dict
from computenet.store.db import make_engine
from computenet.store.migrate import upgrade
from computenet.store.repository import Principal
from computenet.store.uow import UnitOfWork


class PrincipalCache:
    """Recently authenticated tokens, so a busy client is not looked up on every request;
    entries expire after `ttl_s`, which bounds how long a revoked token keeps working."""

    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or self.clock() - entry[0] > self.ttl_s:
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token] = (self.clock(), principal)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    network: Network
    loop: ControlLoop
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    errors: list[str] = field(default_factory=list)
    principals: PrincipalCache = field(default_factory=PrincipalCache)

    def start(self) -> None:
        self.loop.restore()
        self._thread = threading.Thread(target=self._run, name="computenet-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.loop.tick()
            except Exception as exc:  # keep the loop alive; the error is visible in /healthz
                self.errors.append(f"{type(exc).__name__}: {exc}")
                del self.errors[:-20]
            self._stop.wait(max(0.0, self.settings.tick_s - (time.monotonic() - started)))


def build_runtime(
    settings: Settings, backends: dict[str, ExecutionBackend] | None = None
) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    upgrade(engine)
    network = load_network(settings.network)
    entries = backend_entries(settings.network)
    with UnitOfWork(engine) as uow:
        for site in network.sites:
            spec = site_to_dict(site)
            if site.name in entries:
                spec["backend"] = entries[site.name]
            uow.sites.put(spec)

    def backend_for(site: str) -> ExecutionBackend:
        """The site's backend, as its stored `backend:` entry says (local by default)."""
        with UnitOfWork(engine, read_only=True) as uow:
            spec = uow.sites.get_spec(site) or {}
        entry = parse_backend(spec.get("backend"), site)
        return make_backend(
            site,
            entry,
            Path(settings.data_dir),
            local_devices_per_node=settings.local_devices_per_node,
        )

    # sites registered earlier through the API are part of the network again
    with UnitOfWork(engine, read_only=True) as uow:
        known = {s.name for s in network.sites}
        extra = tuple(s for s in uow.sites.list_all() if s.name not in known)
        tenants = uow.tenants.list_all()
    if extra:
        network = Network(
            network.name,
            (*network.sites, *extra),
            network.links,
            network.description,
            network.illustrative,
        )
    if backends is None:
        backends = {site.name: backend_for(site.name) for site in network.sites}
    loop = ControlLoop(
        engine,
        network,
        load_catalog(),
        make_policy(settings.policy),
        backends,
        # quotas as the simulator enforces them; the API's changes reach the loop through
        # `ControlLoop.tenants_changed` (a reload from the store on the next tick)
        tenants=tenants,
        backend_for=backend_for,
    )
    return Runtime(settings, engine, network, loop)


def ensure_admin_token(runtime: Runtime) -> Path:
    """Create the administrator token on first start, readable by the owner only."""
    path = runtime.settings.admin_token_file
    if path.exists():
        return path
    with UnitOfWork(runtime.engine) as uow:
        issued = uow.tokens.create(None, label="admin (computenet up)")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(issued.token + "\n")
    return path
