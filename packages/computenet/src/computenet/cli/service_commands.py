"""Service commands: `computenet up` and the thin API client commands."""

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from computenet.cli.client import DEFAULT_URL, ApiClient, ApiError, resolve_token

err = Console(stderr=True)
UrlOpt = Annotated[str, typer.Option("--url", envvar="COMPUTENET_URL", help="Service URL.")]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="COMPUTENET_TOKEN", help="API token (default: the admin token of `up`)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _client(url: str, token: str | None) -> ApiClient:
    return ApiClient(url, resolve_token(token))


def _call(fn: Any) -> Any:
    try:
        return fn()
    except ApiError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.detail)}")
        raise typer.Exit(1 if exc.status in (0,) or exc.status >= 500 else 2) from None


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title, title_justify="left")
    for col in header:
        table.add_column(col)
    for row in rows:
        table.add_row(*[escape(c) for c in row])
    Console().print(table)


def up(
    data_dir: Annotated[Path, typer.Option(help="Where the database, logs and token live.")] = Path(
        "var/computenet"
    ),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8470,
    network: Annotated[
        str, typer.Option(help="Built-in network name or network YAML.")
    ] = "china-hubs",
    policy: Annotated[str, typer.Option(help="Scheduling policy.")] = "backfill",
) -> None:
    """Start the network service with the built-in example network on the local backend."""
    import uvicorn

    from computenet.api.app import create_app
    from computenet.service.runtime import build_runtime, ensure_admin_token
    from computenet.service.settings import Settings

    settings = Settings(data_dir=data_dir, port=port, network=network, policy=policy)
    runtime = build_runtime(settings)
    token_file = ensure_admin_token(runtime)
    err.print(f"computenet: http://{settings.host}:{port}  (API docs: /docs)")
    err.print(f"administrator token: {token_file.resolve()}")
    err.print(
        f"network: {runtime.network.name}, {len(runtime.network.sites)} sites, policy {policy}"
    )
    uvicorn.run(create_app(settings, runtime), host=settings.host, port=port, log_level="warning")


def submit(
    job_file: Annotated[Path, typer.Argument(help="Job spec YAML (see examples/jobs/).")],
    tenant: Annotated[
        str | None, typer.Option(help="Administrators: submit for this tenant.")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit a job described by a YAML file."""
    try:
        body = yaml.safe_load(job_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        err.print(f"[bold red]error:[/] {job_file}: {exc}")
        raise typer.Exit(2) from None
    params = {"tenant": tenant} if tenant else {}
    job = _call(lambda: _client(url, token).json("POST", "/v1/jobs", json=body, params=params))
    typer.echo(json.dumps(job, indent=2) if as_json else f"submitted {job['id']} ({job['state']})")


def jobs(
    state: Annotated[
        list[str] | None, typer.Option("--state", help="Filter by state (repeat).")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Administrators: one tenant.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List jobs (a tenant sees its own)."""
    params: dict[str, Any] = {"limit": limit}
    if state:
        params["state"] = state
    if tenant:
        params["tenant"] = tenant
    page = _call(lambda: _client(url, token).json("GET", "/v1/jobs", params=params))
    if as_json:
        typer.echo(json.dumps(page["items"], indent=2))
        return
    rows = [
        [
            j["id"],
            j["tenant"],
            j["state"],
            j["pending_reason"] if j["state"] == "pending" else "",
            f"{j['placement']['site']}/{j['placement']['accelerator']}" if j["placement"] else "",
            "" if j["exit_code"] is None else str(j["exit_code"]),
        ]
        for j in page["items"]
    ]
    _table("jobs", ["id", "tenant", "state", "why pending", "where", "exit"], rows)


def job(
    job_id: str, url: UrlOpt = DEFAULT_URL, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """One job: state, placement, pending reason and history."""
    data = _call(lambda: _client(url, token).json("GET", f"/v1/jobs/{job_id}"))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    where = data["placement"]
    typer.echo(f"{data['id']}  tenant {data['tenant']}  {data['state']}  attempt {data['attempt']}")
    if data["state"] == "pending":
        typer.echo(f"pending: {data['pending_reason']}")
    if where:
        typer.echo(
            f"placed: {where['site']}/{where['pool']} ({where['accelerator']}) {where['slots']}"
        )
    for e in data.get("events") or []:
        typer.echo(
            f"  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(e['at']))}  {e['kind']:<10} {e['detail']}"
        )


def logs(
    job_id: str,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing as the job writes.")
    ] = False,
    stderr: Annotated[
        bool, typer.Option("--stderr", help="Standard error instead of output.")
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Print a job's output."""
    client = _client(url, token)
    offset = 0
    stream = "stderr" if stderr else "stdout"
    while True:
        params = {"stream": stream, "offset": offset}
        r = _call(lambda p=params: client.request("GET", f"/v1/jobs/{job_id}/logs", params=p))
        typer.echo(r.text, nl=False)
        offset = int(r.headers.get("X-Next-Offset", offset))
        if not follow:
            return
        state = _call(lambda: client.json("GET", f"/v1/jobs/{job_id}"))["state"]
        if state in ("succeeded", "failed", "cancelled") and not r.text:
            return
        time.sleep(0.5)


def cancel(job_id: str, url: UrlOpt = DEFAULT_URL, token: TokenOpt = None) -> None:
    """Cancel a job (pending at once; running: its processes are stopped)."""
    data = _call(lambda: _client(url, token).json("POST", f"/v1/jobs/{job_id}/cancel"))
    typer.echo(
        f"{data['id']}: {data['state']}{' (stopping)' if data['state'] == 'running' else ''}"
    )


def requeue(job_id: str, url: UrlOpt = DEFAULT_URL, token: TokenOpt = None) -> None:
    """Queue a failed or cancelled job again."""
    data = _call(lambda: _client(url, token).json("POST", f"/v1/jobs/{job_id}/requeue"))
    typer.echo(f"{data['id']}: {data['state']}")


def usage(url: UrlOpt = DEFAULT_URL, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Jobs by state and accelerator-hours per tenant."""
    data = _call(lambda: _client(url, token).json("GET", "/v1/usage"))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    rows = [
        [
            u["tenant"],
            f"{u['device_hours']:.2f}",
            str(u["jobs"].get("running", 0)),
            str(u["jobs"].get("pending", 0)),
            str(u["jobs"].get("succeeded", 0)),
            str(u["jobs"].get("failed", 0)),
        ]
        for u in data
    ]
    _table(
        "usage", ["tenant", "accelerator-hours", "running", "pending", "succeeded", "failed"], rows
    )


tenant_app = typer.Typer(help="Tenants (administrators).", no_args_is_help=True)

_COUNTS_HELP = "KEY=COUNT, KEY a model (H800), a device class (npu) or '*'; repeat."
QuotaOpt = Annotated[
    list[str] | None, typer.Option("--quota", help=f"Nominal quota: {_COUNTS_HELP}")
]
BorrowOpt = Annotated[
    list[str] | None,
    typer.Option("--borrowing-limit", help=f"Borrow at most this many more: {_COUNTS_HELP}"),
]
LendOpt = Annotated[
    list[str] | None,
    typer.Option("--lending-limit", help=f"Lend at most this much unused quota: {_COUNTS_HELP}"),
]


def _counts(option: str, values: list[str] | None) -> dict[str, int] | None:
    """`["H800=8", "*=4"]` as a mapping; None when not given; `none` alone: empty."""
    if values is None:
        return None
    if values == ["none"]:
        return {}
    counts: dict[str, int] = {}
    for value in values:
        key, sep, count = value.partition("=")
        if not sep or not key or not count.strip().isdigit():
            err.print(
                f"[bold red]error:[/] {option} takes KEY=COUNT (e.g. H800=8), not '{escape(value)}'"
            )
            raise typer.Exit(2)
        counts[key.strip()] = int(count)
    return counts


def _quota_fields(
    quota: list[str] | None,
    cohort: str | None,
    borrowing_limit: list[str] | None,
    lending_limit: list[str] | None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "quota": _counts("--quota", quota),
        "cohort": cohort,
        "borrowing_limit": _counts("--borrowing-limit", borrowing_limit),
        "lending_limit": _counts("--lending-limit", lending_limit),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _show_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items()) or "-"


def _tenant_line(t: dict[str, Any]) -> str:
    quota = f"quota {_show_counts(t['quota'])}" if t["quota"] else "no quota"
    limits = "".join(
        f", {what} {_show_counts(t[key])}"
        for key, what in (("borrowing_limit", "borrowing"), ("lending_limit", "lending"))
        if t.get(key)
    )
    return f"weight {t['weight']:g}, {quota}, cohort {t.get('cohort', 'network')}{limits}"


@tenant_app.command("add")
def tenant_add(
    name: str,
    weight: Annotated[float, typer.Option(help="Fair-share weight.")] = 1.0,
    quota: QuotaOpt = None,
    cohort: Annotated[
        str, typer.Option(help="Cohort: tenants that lend to and borrow from each other.")
    ] = "network",
    borrowing_limit: BorrowOpt = None,
    lending_limit: LendOpt = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a tenant, with Kueue-style quotas if given; prints its token once.

    computenet tenant add lab-a --quota H800=8 --quota '*=4' --borrowing-limit H800=8"""
    body = {
        "name": name,
        "weight": weight,
        **_quota_fields(quota, cohort, borrowing_limit, lending_limit),
    }
    data = _call(lambda: _client(url, token).json("POST", "/v1/tenants", json=body))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        f"tenant {data['name']} added ({_tenant_line(data)}); token (shown once): {data['token']}"
    )


@tenant_app.command("set")
def tenant_set(
    name: str,
    weight: Annotated[float | None, typer.Option(help="Fair-share weight.")] = None,
    quota: QuotaOpt = None,
    cohort: Annotated[str | None, typer.Option(help="Cohort.")] = None,
    borrowing_limit: BorrowOpt = None,
    lending_limit: LendOpt = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a tenant; the running service applies it within a tick.

    An option given replaces that setting as a whole (`--quota H800=8 --quota npu=16` is
    the whole new quota); `--borrowing-limit none` clears one. Limits must fit the quota."""
    body: dict[str, Any] = _quota_fields(quota, cohort, borrowing_limit, lending_limit)
    if weight is not None:
        body["weight"] = weight
    if not body:
        err.print("[bold red]error:[/] nothing to change (give --weight, --quota, ...)")
        raise typer.Exit(2)
    data = _call(lambda: _client(url, token).json("PATCH", f"/v1/tenants/{name}", json=body))
    typer.echo(
        json.dumps(data, indent=2) if as_json else f"tenant {data['name']}: {_tenant_line(data)}"
    )


@tenant_app.command("list")
def tenant_list(
    url: UrlOpt = DEFAULT_URL, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """List tenants with their quotas."""
    data = _call(lambda: _client(url, token).json("GET", "/v1/tenants"))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    rows = [
        [
            t["name"],
            f"{t['weight']:g}",
            _show_counts(t["quota"]),
            t.get("cohort", "network"),
            _show_counts(t.get("borrowing_limit") or {}),
            _show_counts(t.get("lending_limit") or {}),
        ]
        for t in data
    ]
    _table("tenants", ["name", "weight", "quota", "cohort", "borrowing", "lending"], rows)


site_app = typer.Typer(help="Sites (compute centers).", no_args_is_help=True)


@site_app.command("list")
def site_list(url: UrlOpt = DEFAULT_URL, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """List the network's sites and pools."""
    data = _call(lambda: _client(url, token).json("GET", "/v1/sites"))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    rows = [
        [
            s["name"],
            s["region"],
            str(s["accelerators"]),
            ", ".join(f"{p['nodes']}x{p['per_node']} {p['accelerator']}" for p in s["pools"]),
        ]
        for s in data
    ]
    _table("sites", ["site", "region", "accelerators", "pools"], rows)


def demo(
    count: Annotated[
        int | None, typer.Option(help="Stop after this many jobs (default: run until Ctrl-C).")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between jobs.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Create demo tenants and submit a trickle of SYNTHETIC demo jobs (administrators)."""
    from computenet.service.demo import trickle

    sent = _call(lambda: trickle(_client(url, token), count=count, interval_s=interval, seed=seed))
    typer.echo(f"submitted {sent} demo jobs")


@site_app.command("add")
def site_add(
    site_file: Annotated[
        Path | None, typer.Argument(help="YAML of one site: name, region, pue, pools, backend.")
    ] = None,
    from_slurm: Annotated[
        str | None,
        typer.Option(
            "--from-slurm",
            help="Discover the pools of a Slurm cluster from its slurm.conf (needs --name).",
        ),
    ] = None,
    from_ray: Annotated[
        str | None,
        typer.Option("--from-ray", help="Discover the pools of a Ray cluster at HOST:PORT."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Site name (with --from-*).")] = None,
    region: Annotated[str, typer.Option(help="Region (with --from-*).")] = "",
    partition: Annotated[str | None, typer.Option(help="Slurm partition.")] = None,
    gres_type: Annotated[
        list[str] | None,
        typer.Option(help="MODEL=GRES_TYPE (Slurm) or MODEL=RESOURCE (Ray); repeat."),
    ] = None,
    spool: Annotated[
        str | None,
        typer.Option(help="Run files and logs: a directory the cluster's nodes share."),
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the site YAML instead of registering it.")
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Register a compute center; waiting jobs may start there at once.

    From a file, or discovered: `--from-slurm /etc/slurm/slurm.conf --name hpc-a` reads the
    GPU nodes (`scontrol show node`), `--from-ray 10.0.0.5:6379 --name ray-a` the Ray
    nodes, and registers a site run by that cluster."""
    if sum(x is not None for x in (site_file, from_slurm, from_ray)) != 1:
        err.print("[bold red]error:[/] give one of SITE_FILE, --from-slurm, --from-ray")
        raise typer.Exit(2)
    if site_file is not None:
        try:
            body = yaml.safe_load(site_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            err.print(f"[bold red]error:[/] {site_file}: {exc}")
            raise typer.Exit(2) from None
    else:
        body = _discover(from_slurm, from_ray, name, partition, gres_type or [], spool)
        if region:
            body["region"] = region
    if print_only:
        typer.echo(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), nl=False)
        return
    data = _call(lambda: _client(url, token).json("POST", "/v1/sites", json=body))
    typer.echo(f"site {data['name']} registered: {data['accelerators']} accelerators")


def _discover(
    from_slurm: str | None,
    from_ray: str | None,
    name: str | None,
    partition: str | None,
    mapping: list[str],
    spool: str | None,
) -> dict[str, Any]:
    from computenet.backends.base import BackendError
    from computenet.domain.errors import DomainError
    from computenet.service.discovery import ray_site, slurm_site

    if not name:
        err.print("[bold red]error:[/] --name is required with --from-slurm/--from-ray")
        raise typer.Exit(2)
    pairs = [m.split("=", 1) for m in mapping]
    if any(len(p) != 2 or not all(p) for p in pairs):
        err.print("[bold red]error:[/] --gres-type takes MODEL=NAME, e.g. A100=a100")
        raise typer.Exit(2)
    types = {p[0]: p[1] for p in pairs}
    try:
        if from_slurm is not None:
            return slurm_site(
                name, conf=from_slurm, partition=partition, gres_types=types, spool=spool
            )
        assert from_ray is not None
        return ray_site(name, address=from_ray, resources=types, spool=spool)
    except (BackendError, DomainError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    for fn in (up, submit, jobs, job, logs, cancel, requeue, usage, demo):
        app.command()(fn)
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(site_app, name="site")
