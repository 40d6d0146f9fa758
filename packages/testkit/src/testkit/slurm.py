"""A throwaway Slurm cluster for tests: munged, slurmctld and two slurmd on 127.0.0.1.

    with running_slurm() as cluster:       # SlurmCluster: conf path, nodes, pids
        env = {"SLURM_CONF": str(cluster.conf)}
        subprocess.run(["sbatch", "--wrap", "true"], env={**os.environ, **env})
        cluster.restart_controller()       # kill slurmctld by PID; start it on the same state

Everything lives in one fresh directory: the munge key and socket, ``slurm.conf`` and
``gres.conf``, the controller's state, each node's spool and logs, and the fake GPUs, which
are symlinks to /dev/null named in ``gres.conf`` (node ``tk1`` carries two ``a100``, node
``tk2`` two ``v100``). Both nodes run on this host: distinct ``NodeName`` entries with
``NodeHostname=localhost``/``NodeAddr=127.0.0.1`` and their own ``Port=``, each slurmd started
with ``-N NAME``. ``CommunicationParameters=NoInAddrAny,NoCtldInAddrAny`` makes every daemon
bind 127.0.0.1 (this host's name resolves there) instead of the wildcard address; munged
listens on its Unix socket only.

Accounting: no slurmdbd (it needs a MySQL server). ``AccountingStorageType=none`` and
``JobCompType=jobcomp/filetxt``: finished jobs stay visible to ``scontrol``/``squeue`` for
``MinJobAge`` seconds and are written to ``cluster.jobcomp``. The daemons run as root (they
are started by root test runs) in the foreground, each in its own session with a
parent-death signal, and are stopped by PID.

`SlurmUnavailableError` when the binaries are missing (``apt-get install slurmctld slurmd
slurm-client munge``).
"""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from testkit.proc import die_with_parent, free_port, log_tail, stop

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
_PREFIX = "testkit-slurm-"
# SIGTERM: slurmctld saves its state and exits
_STOP = ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0))


class SlurmUnavailableError(RuntimeError):
    """The Slurm or munge binaries are not installed."""


class SlurmStartError(RuntimeError):
    """A daemon did not start; the message carries the end of its log."""


@dataclass(frozen=True, slots=True)
class FakeNode:
    name: str
    gpu_type: str
    gpus: int
    cpus: int = 4


DEFAULT_NODES = (FakeNode("tk1", "a100", 2), FakeNode("tk2", "v100", 2))


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    nodes: tuple[FakeNode, ...]
    partition: str
    jobcomp: Path
    munge_socket: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """What a Slurm command needs to talk to this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}

    def stop_controller(self) -> None:
        proc = self.processes.pop("slurmctld", None)
        if proc is not None:
            stop(proc, _STOP)

    def start_controller(self, *, clean: bool = False) -> None:
        """Start slurmctld (recovering its saved state unless `clean`) and wait for it."""
        args = ["slurmctld", "-D", "-f", str(self.conf)] + (["-c"] if clean else ["-R"])
        self.processes["slurmctld"] = _spawn(args, self.root / "slurmctld.out")
        _wait(
            lambda: _ok(["scontrol", "ping"], self.env, "UP"),
            self.processes["slurmctld"],
            self.root / "slurmctld.log",
            "slurmctld",
        )

    def restart_controller(self) -> None:
        """Stop slurmctld by PID (SIGTERM: it saves its state, as an orderly restart does;
        a SIGKILL loses what it had not yet written, up to its last few seconds) and start
        it again on the same state directory."""
        self.stop_controller()
        self.start_controller()

    def close(self) -> None:
        for name in [n for n in self.processes if n != "munged"]:
            stop(self.processes.pop(name), _STOP)
        if "munged" in self.processes:
            stop(self.processes.pop("munged"), _STOP)


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]


@contextlib.contextmanager
def running_slurm(
    base: Path | None = None,
    *,
    nodes: tuple[FakeNode, ...] = DEFAULT_NODES,
    partition: str = "gpu",
    timeout_s: float = 60.0,
) -> Iterator[SlurmCluster]:
    """Run a private Slurm cluster while the block runs."""
    missing = missing_binaries()
    if missing:
        raise SlurmUnavailableError(
            f"Slurm binaries not found: {', '.join(missing)} "
            "(apt-get install slurmctld slurmd slurm-client munge)"
        )
    if os.geteuid() != 0:
        raise SlurmUnavailableError("the test Slurm cluster runs its daemons as root")
    # short paths: the munge socket path must fit in sun_path (108 bytes)
    root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base or "/tmp"))
    root.chmod(0o755)  # munged refuses group/world-writable parents
    cluster = SlurmCluster(
        root=root,
        conf=root / "slurm.conf",
        nodes=nodes,
        partition=partition,
        jobcomp=root / "jobcomp.txt",
        munge_socket=root / "munge" / "munge.socket",
    )
    try:
        _start_munge(cluster, timeout_s)
        _write_config(cluster)
        cluster.start_controller(clean=True)
        for node in nodes:
            cluster.processes[f"slurmd-{node.name}"] = _spawn(
                ["slurmd", "-D", "-N", node.name, "-f", str(cluster.conf)],
                root / f"slurmd-{node.name}.out",
            )
        _wait(
            lambda: _nodes_idle(cluster),
            cluster.processes[f"slurmd-{nodes[-1].name}"],
            root / f"slurmd-{nodes[-1].name}.log",
            "slurmd",
            timeout_s,
        )
        yield cluster
    finally:
        cluster.close()
        shutil.rmtree(root, ignore_errors=True)


def _start_munge(cluster: SlurmCluster, timeout_s: float) -> None:
    mdir = cluster.munge_socket.parent
    mdir.mkdir(mode=0o755)
    key = mdir / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    proc = _spawn(
        [
            "munged",
            "--foreground",
            "--force",
            f"--socket={cluster.munge_socket}",
            f"--key-file={key}",
            f"--pid-file={mdir / 'munged.pid'}",
            f"--log-file={mdir / 'munged.log'}",
            f"--seed-file={mdir / 'munged.seed'}",
            "--num-threads=2",
        ],
        mdir / "munged.out",
    )
    cluster.processes["munged"] = proc
    _wait(cluster.munge_socket.exists, proc, mdir / "munged.log", "munged", timeout_s)


def _write_config(cluster: SlurmCluster) -> None:
    root = cluster.root
    for sub in ("state", "spool", "dev"):
        (root / sub).mkdir()
    node_lines: list[str] = []
    gres_lines: list[str] = []
    for node in cluster.nodes:
        files = []
        for i in range(node.gpus):
            dev = root / "dev" / f"{node.name}-gpu{i}"
            dev.symlink_to("/dev/null")
            files.append(dev)
        node_lines.append(
            f"NodeName={node.name} NodeHostname=localhost NodeAddr=127.0.0.1 "
            f"Port={free_port()} CPUs={node.cpus} RealMemory=1000 "
            f"Gres=gpu:{node.gpu_type}:{node.gpus} State=UNKNOWN"
        )
        gres_lines.extend(
            f"NodeName={node.name} Name=gpu Type={node.gpu_type} File={f}" for f in files
        )
    names = ",".join(n.name for n in cluster.nodes)
    conf = f"""\
ClusterName=testkit
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SrunPortRange={_port_range()}
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
AuthType=auth/munge
AuthInfo=socket={cluster.munge_socket}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}/%n
SlurmctldPidFile={root / "slurmctld.pid"}
SlurmdPidFile={root / "slurmd-%n.pid"}
SlurmctldLogFile={root / "slurmctld.log"}
SlurmdLogFile={root / "slurmd-%n.log"}
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={root / "plugstack.conf"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
GresTypes=gpu
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
# schedule a submitted batch job at once (the default waits up to 3 s to batch them)
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={cluster.jobcomp}
MinJobAge=600
KillWait=2
MessageTimeout=3
InactiveLimit=0
SlurmdTimeout=300
SlurmctldTimeout=300
{chr(10).join(node_lines)}
PartitionName={cluster.partition} Nodes={names} Default=YES MaxTime=INFINITE State=UP
"""
    cluster.conf.write_text(conf)
    (root / "gres.conf").write_text("\n".join(gres_lines) + "\n")
    (root / "plugstack.conf").write_text("")


def _port_range() -> str:
    """A small free-looking port range for srun's listening sockets (bound to 127.0.0.1)."""
    first = free_port()
    first = min(first, 65000)
    return f"{first}-{first + 20}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    env.update(LC_ALL="C", LANG="C")
    return env


def _spawn(args: list[str], out: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which(args[0]) or str(Path("/usr/sbin", args[0]))
    with out.open("ab") as fh:
        return subprocess.Popen(
            [*die_with_parent("SIGTERM"), exe, *args[1:]],
            cwd=out.parent,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _ok(args: list[str], extra_env: dict[str, str], needle: str) -> bool:
    try:
        done = subprocess.run(
            args,
            env={**_env(), **extra_env},
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and needle in done.stdout


def _nodes_idle(cluster: SlurmCluster) -> bool:
    try:
        done = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%N %t"],
            check=False,
            env={**_env(), **cluster.env},
            capture_output=True,
            text=True,
            timeout=10,
        )
    except subprocess.TimeoutExpired:
        return False
    states = dict(line.split() for line in done.stdout.splitlines() if line.strip())
    return all(states.get(n.name) == "idle" for n in cluster.nodes)


def _wait(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    log: Path,
    what: str,
    timeout_s: float = 60.0,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SlurmStartError(f"{what} exited ({proc.returncode}):\n{log_tail(log)}")
        if ready():
            return
        time.sleep(0.1)
    raise SlurmStartError(f"{what} not ready after {timeout_s} s:\n{log_tail(log)}")
