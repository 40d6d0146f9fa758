"""Demo tenants and a trickle of SYNTHETIC demo jobs for `make up`, sent through the API
like any client would."""

import random
import time
from collections.abc import Callable

from computenet.cli.client import ApiClient, ApiError

DEMO_TENANTS = (("lab-a", 2.0), ("lab-b", 1.0), ("tea-ml", 1.0))  # tea-ml: teaplatform's trainers
_KINDS: tuple[tuple[str, int, int, str, list[str], tuple[int, int]], ...] = (
    # (kind, accelerators, milli, precision, accepted types, seconds)
    ("training", 8, 1000, "bf16", [], (20, 60)),
    ("training", 16, 1000, "bf16", ["H800", "A800", "H100", "A100"], (30, 90)),
    ("training", 2, 1000, "fp16", [], (5, 30)),
    ("inference", 1, 250, "int8", ["T4", "A10", "L40S"], (5, 20)),
    ("inference", 1, 500, "fp16", [], (5, 20)),
    ("hpc", 8, 1000, "fp64", [], (10, 40)),
)


def ensure_tenants(admin: ApiClient) -> dict[str, str]:
    """Create the demo tenants that are missing; returns the tokens of those created."""
    tokens: dict[str, str] = {}
    existing = {t["name"] for t in admin.json("GET", "/v1/tenants")}
    for name, weight in DEMO_TENANTS:
        if name not in existing:
            created = admin.json("POST", "/v1/tenants", json={"name": name, "weight": weight})
            tokens[name] = created["token"]
    return tokens


def trickle(
    admin: ApiClient,
    *,
    count: int | None = None,
    interval_s: float = 2.0,
    seed: int = 0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Submit demo jobs (labelled synthetic) for the demo tenants; returns how many."""
    ensure_tenants(admin)
    rng = random.Random(seed)
    sent = 0
    run = f"{int(time.time())}"
    while count is None or sent < count:
        kind, gpus, milli, precision, types, (lo, hi) = rng.choice(_KINDS)
        seconds = rng.randint(lo, hi)
        tenant = rng.choice(DEMO_TENANTS)[0]
        body = {
            "id": f"demo-{run}-{sent}",
            "kind": kind,
            "command": f"echo demo {kind} on $CUDA_VISIBLE_DEVICES; sleep {seconds}; echo done",
            "accelerators": gpus,
            "accelerator_milli": milli,
            "accelerator_types": types,
            "precision": precision,
            "work": {"reference_s": seconds},
            "preemptible": kind == "training",
            "labels": {"synthetic": "true", "demo": "true"},
        }
        try:
            admin.json("POST", "/v1/jobs", json=body, params={"tenant": tenant})
        except ApiError as exc:
            if exc.status == 0:
                raise
        sent += 1
        if count is None or sent < count:
            sleep(interval_s)
    return sent
