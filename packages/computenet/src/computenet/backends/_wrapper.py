"""The supervisor of one LocalBackend run; it needs neither the service nor this package.

    python -I -S .../computenet/backends/_wrapper.py RUN_DIR GRACE_S

LocalBackend starts it as the leader of a new session and process group, with stdin from
/dev/null and stdout/stderr appended to RUN_DIR/stdout.log and stderr.log. It uses the
standard library only (it runs by path, without site-packages), reads what it needs from
RUN_DIR/spec.json and reports only through files of RUN_DIR, so it works the same whether
or not the service that started it is still alive. Steps:

1. Claim the run: create RUN_DIR/pid *exclusively* (a hard link of a complete temporary
   file, so it never exists half-written) holding its pid, its start time (field 22 of
   /proc/<pid>/stat) and the boot id. Whoever creates `pid` first owns the run dir
   forever: a second wrapper for the same run (a launch retried after a crash) exits at
   once, and the backend itself claims `pid` with an "abandoned" record when it declares a
   run that never started LOST or CANCELLED. So the command runs at most once per run dir.
2. If the run was cancelled before this point (marker `cancelled`, or SIGTERM already
   received), write `finished_at` and stop without running the command; else `started_at`.
3. Run `/bin/sh -c COMMAND` as a child in the same process group, cwd = spec workdir or
   RUN_DIR, environment as received. Killing the group kills the whole job tree.
4. SIGTERM / SIGINT / SIGHUP (the backend's cancel sends SIGTERM to the group): after
   GRACE_S, SIGKILL the whole group. When the spec's time limit passes: write marker
   `timed_out`, SIGTERM the group, the same grace, then SIGKILL.
5. When the command ends, write `exit_code` (128+N if killed by signal N), then stop
   processes it left behind in the group (SIGTERM, grace, SIGKILL), then write
   `finished_at` and exit. A SIGKILL of the group by the wrapper itself writes
   `finished_at` first and leaves `exit_code` unwritten if the command had not ended.

Every file is written atomically (temporary file, fsync, rename). Waiting is driven by
signals (SIGCHLD and the termination signals wake a select on signal.set_wakeup_fd), so a
long run costs no polling. The file names and /proc helpers here are shared with
computenet.backends.local.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import NamedTuple, NoReturn, TypeAlias

SPEC = "spec.json"
STDOUT = "stdout.log"
STDERR = "stderr.log"
PID = "pid"
EXIT_CODE = "exit_code"
STARTED_AT = "started_at"
FINISHED_AT = "finished_at"
CANCELLED = "cancelled"
TIMED_OUT = "timed_out"
LAUNCHING = "launching"

StrPath: TypeAlias = str | os.PathLike[str]


# ----------------------------------------------------------------------------- /proc


class ProcStat(NamedTuple):
    state: str  # R, S, D, Z (zombie), ...
    ppid: int
    pgrp: int
    start_time: int  # clock ticks after boot (field 22)


def proc_stat(pid: int) -> ProcStat | None:
    """Fields of /proc/<pid>/stat, or None when there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2 :].split()  # the name (field 2) may hold spaces
        return ProcStat(fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[19]))
    except (OSError, ValueError, IndexError):
        return None


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip() or None
    except OSError:
        return None


def process_record(pid: int) -> dict[str, object]:
    """What identifies a process across pid reuse and reboots."""
    st = proc_stat(pid)
    return {"pid": pid, "start_time": None if st is None else st.start_time, "boot_id": boot_id()}


def group_members(pgid: int, exclude: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`, except `exclude`."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    members = []
    for name in names:
        if name.isdigit() and int(name) != exclude:
            st = proc_stat(int(name))
            if st is not None and st.pgrp == pgid and st.state not in ("Z", "X"):
                members.append(int(name))
    return members


# ----------------------------------------------------------------------------- files


def _write_tmp(path: StrPath, text: str, durable: bool) -> str:
    tmp = f"{os.fspath(path)}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(text.encode())
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def unlink_quietly(path: StrPath) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def fsync_dir(path: StrPath) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: StrPath, text: str, *, durable: bool = True) -> None:
    """Replace `path` with `text`: readers see the old file or the whole new one. Durable:
    on disk when this returns (fsync of the file and its directory)."""
    tmp = _write_tmp(path, text, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(os.path.dirname(os.fspath(path)) or ".")


def claim(path: StrPath, text: str, *, durable: bool = True) -> bool:
    """Create `path` holding `text` unless it exists: True for exactly one of any number
    of concurrent callers, and nobody ever sees the file half-written."""
    tmp = _write_tmp(path, text, durable)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        unlink_quietly(tmp)
    if durable:
        fsync_dir(os.path.dirname(os.fspath(path)) or ".")
    return True


# ----------------------------------------------------------------------------- supervisor

_TERMINATING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Supervisor:
    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.terminating = False
        self.pid = os.getpid()
        self.pgid = os.getpgrp()
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for sig in (*_TERMINATING, signal.SIGCHLD):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD:
            self.terminating = True

    def sleep(self, timeout: float | None) -> None:
        """Until a signal arrives (SIGCHLD included) or `timeout` passes."""
        select.select([self.wake_r], [], [], None if timeout is None else max(0.0, timeout))
        try:
            while os.read(self.wake_r, 256):
                pass
        except BlockingIOError:
            pass

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, sig)  # reaches this process too: handled, sets terminating

    def kill_all(self) -> NoReturn:
        """SIGKILL the whole group, this process included: the end of the run."""
        atomic_write(FINISHED_AT, repr(time.time()))
        sys.stdout.flush()
        sys.stderr.flush()
        os.killpg(self.pgid, signal.SIGKILL)
        os._exit(128 + signal.SIGKILL)  # not reached

    def run(self, command: str, cwd: str, time_limit_s: float | None) -> None:
        """Run the command to its end, write its exit status and stop its leftovers."""
        try:
            child = subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd)
        except OSError as exc:
            print(f"computenet: cannot start the command: {exc}", file=sys.stderr, flush=True)
            atomic_write(EXIT_CODE, "127\n")
            return
        if self.terminating:  # a SIGTERM that came before the child existed missed it
            self.signal_group(signal.SIGTERM)
        try:
            term_at = self._wait(child, time_limit_s)
            self._stop_leftovers(term_at)
        except BaseException as exc:
            print(f"computenet: wrapper error, killing the run: {exc!r}", file=sys.stderr)
            self.kill_all()

    def _wait(self, child: subprocess.Popen[bytes], time_limit_s: float | None) -> float | None:
        """Wait for the command, enforcing the time limit and the grace after SIGTERM;
        write its exit status; return when the group got SIGTERM (None: never)."""
        deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        term_at: float | None = None
        while (returncode := child.poll()) is None:
            now = time.monotonic()
            if term_at is None and self.terminating:
                term_at = now
            elif term_at is None and deadline is not None and now >= deadline:
                if not os.path.exists(CANCELLED):
                    marker = {"at": time.time(), "by": "wrapper", "limit_s": time_limit_s}
                    atomic_write(TIMED_OUT, json.dumps(marker))
                term_at = now
                self.signal_group(signal.SIGTERM)
                continue
            elif term_at is not None and now >= term_at + self.grace_s:
                self.kill_all()
            wake = deadline if term_at is None else term_at + self.grace_s
            self.sleep(None if wake is None else wake - now)
        code = returncode if returncode >= 0 else 128 - returncode
        atomic_write(EXIT_CODE, f"{code}\n")
        return term_at

    def _stop_leftovers(self, term_at: float | None) -> None:
        """Stop what the command left running in the group (background processes)."""
        if not group_members(self.pgid, self.pid):
            return
        if term_at is None:
            term_at = time.monotonic()
            self.signal_group(signal.SIGTERM)
        while group_members(self.pgid, self.pid):
            now = time.monotonic()
            if now >= term_at + self.grace_s:
                self.kill_all()
            self.sleep(min(0.05, term_at + self.grace_s - now))  # orphans send no SIGCHLD


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: _wrapper.py RUN_DIR GRACE_S", file=sys.stderr)
        return 2
    if os.getpgrp() != os.getpid():
        os.setsid()  # the group is killed as a whole: it must be ours alone
    supervisor = _Supervisor(float(argv[2]))  # handlers first: a SIGTERM now only flags
    run_dir = os.path.abspath(argv[1])
    os.chdir(run_dir)
    if not claim(PID, json.dumps(process_record(supervisor.pid))):
        return 0  # another wrapper runs this run, or the backend abandoned it
    with open(SPEC, encoding="utf-8") as f:
        spec = json.load(f)
    if not supervisor.terminating and not os.path.exists(CANCELLED):
        atomic_write(STARTED_AT, repr(time.time()))
        limit = spec.get("time_limit_s")
        supervisor.run(spec["command"], spec.get("workdir") or run_dir, limit)
    atomic_write(FINISHED_AT, repr(time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
