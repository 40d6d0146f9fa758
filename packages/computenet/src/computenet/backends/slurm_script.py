"""What the Slurm backend submits: the batch script and the `sbatch` arguments of a run.

Pure functions (no subprocess), unit-tested. A run's placement becomes a Slurm request:
nodes = the placement's nodes, GPUs per node = its devices per node, typed GRES
(`--gres=gpu:a100:2`) when the accelerator model is known. Slurm picks the nodes and
devices within that shape; the job sees them in CUDA_VISIBLE_DEVICES (set by Slurm) and in
COMPUTENET_DEVICES (copied from it). A gang over several nodes runs its command once per
node through `srun`, so every node starts; a one-node run runs it in the batch step.

The environment goes into the script as `export` lines (shell-quoted), not through
`--export`, whose comma-separated list cannot carry commas. `--no-requeue`: a run is one
attempt; when Slurm loses it (node failure) the network decides what happens next.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from computenet.backends.base import InvalidRequest, LaunchRequest

__all__ = ["SlurmSubmitOptions", "render_script", "sbatch_arguments", "time_limit_minutes"]


@dataclass(frozen=True)
class SlurmSubmitOptions:
    partition: str | None = None
    # catalog model -> GRES type (e.g. {"A100": "a100"}); default: the model, lower-cased
    gres_types: Mapping[str, str] = field(default_factory=dict)
    extra_args: Sequence[str] = ()  # e.g. ("--account=lab", "--qos=normal")

    def gres_type(self, accelerator: str | None) -> str | None:
        if accelerator is None:
            return None
        return self.gres_types.get(accelerator, accelerator.lower())


def render_script(request: LaunchRequest) -> str:
    """The batch script: the run's environment, then its command (on every node of a gang)."""
    env = {**request.env, "COMPUTENET_JOB_ID": request.job_id, "COMPUTENET_RUN_ID": request.run_id}
    lines = [
        "#!/bin/sh",
        f"# computenet run {request.run_id} of job {request.job_id}",
        *(f"export {key}={shlex.quote(env[key])}" for key in sorted(env)),
    ]
    # Slurm sets CUDA_VISIBLE_DEVICES per step: read it where the command runs
    inner = 'export COMPUTENET_DEVICES="${CUDA_VISIBLE_DEVICES-}"; ' + request.command
    if len(request.devices) > 1:
        lines.append(
            "exec srun --ntasks-per-node=1 --kill-on-bad-exit=1 /bin/sh -c " + shlex.quote(inner)
        )
    else:
        lines.append("exec /bin/sh -c " + shlex.quote(inner))
    return "\n".join(lines) + "\n"


def time_limit_minutes(limit_s: float) -> int:
    """Slurm counts time limits in whole minutes: the smallest that covers `limit_s`."""
    return max(1, math.ceil(limit_s / 60))


def sbatch_arguments(
    request: LaunchRequest,
    options: SlurmSubmitOptions,
    *,
    script: Path,
    stdout: Path,
    stderr: Path,
    workdir: Path,
    job_name: str | None = None,
) -> list[str]:
    """The `sbatch` command line of a run (without the program name); the job is named
    `job_name` (default: the run id)."""
    per_node = {len(devs) for _, devs in request.devices}
    if len(per_node) > 1:
        raise InvalidRequest(
            f"run {request.run_id}: Slurm gangs have the same devices on every node, got "
            f"{sorted(per_node)}"
        )
    nodes = max(1, len(request.devices))
    gpus = per_node.pop() if per_node else 0
    args = [
        "--parsable",
        f"--job-name={job_name or request.run_id}",
        f"--nodes={nodes}",
        "--ntasks-per-node=1",
        f"--output={stdout}",
        f"--error={stderr}",
        "--open-mode=append",
        f"--chdir={workdir}",
        "--no-requeue",
        "--export=ALL",
    ]
    if options.partition:
        args.append(f"--partition={options.partition}")
    if gpus:
        gres_type = options.gres_type(request.accelerator)
        args.append(f"--gres=gpu:{gres_type}:{gpus}" if gres_type else f"--gres=gpu:{gpus}")
    if request.time_limit_s is not None:
        args.append(f"--time={time_limit_minutes(request.time_limit_s)}")
    args.extend(options.extra_args)
    args.append(str(script))
    return args
