"""Process helpers shared by the service starters: ports, parent-death, logs, stopping."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

# SIGINT first (PostgreSQL: fast shutdown), then SIGTERM, SIGQUIT and SIGKILL if it will not go
STOP_SEQUENCE: tuple[tuple[signal.Signals, float], ...] = (
    (signal.SIGINT, 15.0),
    (signal.SIGTERM, 5.0),
    (signal.SIGQUIT, 5.0),
    (signal.SIGKILL, 5.0),
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (a race is possible: callers retry on bind errors)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def die_with_parent(sig: str = "SIGQUIT") -> list[str]:
    """A command prefix: the server gets `sig` if we die (Linux).

    `setpriv` (util-linux) sets the parent-death signal and execs, so the PID stays the
    server's. The signal comes when the *thread* that started the server ends.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", sig, "--"] if setpriv else []


def log_tail(log: Path, limit: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def stop(
    proc: subprocess.Popen[bytes],
    sequence: Sequence[tuple[signal.Signals, float]] = STOP_SEQUENCE,
) -> None:
    """Stop `proc` by its PID, escalating through `sequence` until it has exited."""
    for sig, wait_s in sequence:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait_s)
