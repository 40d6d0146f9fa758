"""A throwaway PostgreSQL server for tests.

    with running_postgres(tmp_dir) as url:     # postgresql+psycopg://postgres:…@127.0.0.1:PORT/…
        test_url = create_database(url, "test_1")

`running_postgres` runs ``initdb`` into a fresh directory, starts ``postgres`` on 127.0.0.1
only (a free port; its Unix socket in that private directory), waits until it accepts
connections, creates a database and yields a SQLAlchemy URL for it. On exit it stops the
server by its PID (SIGINT: fast shutdown; then SIGQUIT, then SIGKILL if it will not go) and
removes the directory.

PostgreSQL refuses to run as root. As root, the server runs as Debian's ``postgres`` system
user (created by the ``postgresql`` package), or else as a ``testkit`` system user
created on first use; the data directory is given to that user. The process is started
directly under that uid (`subprocess.Popen(user=…)`), so the PID we hold is the postmaster's.

Binaries: ``$TESTKIT_PG_BINDIR``, else ``initdb`` on PATH, else the newest
``/usr/lib/postgresql/*/bin``. `PostgresUnavailableError` when there are none.

The directory is `tmp_dir` when given (and reachable by the server's user), else a RAM disk
(``/dev/shm``, when it has 1 GiB free: creating a database there takes ~20 ms instead of
~150 ms), else the system temp dir. The server gets SIGQUIT if the process that started it
dies (Linux parent-death signal), and directories left by killed runs are removed on the next
start (after 10 minutes, once their postmaster is gone).

The server is tuned for tests (fsync off): never point it at data you want to keep.
"""

import contextlib
import grp
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from testkit.proc import die_with_parent, free_port, log_tail, stop

SUPERUSER = "postgres"
RAM_DIR = "/dev/shm"
RAM_MIN_FREE = 1 << 30
STALE_AFTER_S = 600.0
_PREFIX = "testkit-pg-"
RUN_AS_CANDIDATES = ("postgres", "testkit")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


class PostgresStartError(RuntimeError):
    """initdb or the server failed; the message carries the end of its log."""


@dataclass(frozen=True, slots=True)
class _RunAs:
    uid: int
    gid: int
    name: str


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, or None."""
    override = os.environ.get("TESTKIT_PG_BINDIR")
    if override:
        return Path(override)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = [
        p.parent
        for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if p.parent.parent.name.isdigit()
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: int(p.parent.name))


def _run_as() -> _RunAs | None:
    """The unprivileged user to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in RUN_AS_CANDIDATES:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _RunAs(entry.pw_uid, entry.pw_gid, name)
    name = RUN_AS_CANDIDATES[-1]
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    entry = pwd.getpwnam(name)
    return _RunAs(entry.pw_uid, entry.pw_gid, name)


def _reachable(path: Path, user: _RunAs) -> bool:
    """Whether `user` can traverse every directory down to `path`."""
    groups = {user.gid} | {g.gr_gid for g in grp.getgrall() if user.name in g.gr_mem}
    for directory in [path, *path.parents]:
        st = os.stat(directory)
        mode = st.st_mode
        if st.st_uid == user.uid:
            ok = mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = mode & stat.S_IXGRP
        else:
            ok = mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _default_base() -> Path:
    """A RAM disk when there is one with room (CREATE DATABASE is ~10x faster), else /tmp."""
    ram = Path(RAM_DIR)
    with contextlib.suppress(OSError):
        vfs = os.statvfs(ram)
        if (
            ram.is_dir()
            and os.access(ram, os.W_OK | os.X_OK)
            and vfs.f_bavail * vfs.f_frsize >= (RAM_MIN_FREE)
        ):
            return ram
    return Path(tempfile.gettempdir())


def _remove_stale(base: Path) -> None:
    """Remove clusters left by killed test runs: old, and their postmaster is gone."""
    for root in base.glob(f"{_PREFIX}*"):
        with contextlib.suppress(OSError, ValueError):
            if time.time() - root.stat().st_mtime < STALE_AFTER_S:
                continue
            pid_file = root / "data" / "postmaster.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text().split()[0])
                try:
                    os.kill(pid, 0)
                    continue  # still running: someone else's
                except ProcessLookupError:
                    pass
            shutil.rmtree(root, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", TZ="UTC")
    return env


def _connect(url: URL, dbname: str | None = None, timeout_s: int = 5) -> psycopg.Connection:
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=dbname or url.database,
        connect_timeout=timeout_s,
        autocommit=True,
    )


def create_database(url: str, name: str) -> str:
    """Create database `name` on the server of `url` (a superuser URL); its URL."""
    if not _DB_NAME.match(name):
        raise ValueError(f"database name {name!r}: lowercase letters, digits and _ only")
    parsed = make_url(url)
    with _connect(parsed, "postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop database `name` (closing its connections) on the server of `url`."""
    parsed = make_url(url)
    with _connect(parsed, "postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def running_postgres(
    tmp_dir: Path | None = None,
    *,
    database: str = "test",
    timeout_s: float = 30.0,
) -> Iterator[str]:
    """Run a private PostgreSQL server while the block runs; yields a SQLAlchemy URL."""
    bindir = find_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        raise PostgresUnavailableError(
            "PostgreSQL server binaries not found (apt-get install postgresql, "
            "or set TESTKIT_PG_BINDIR)"
        )
    run_as = _run_as()
    base = tmp_dir
    if base is not None and run_as is not None and not _reachable(base.absolute(), run_as):
        base = None  # e.g. pytest's /tmp/pytest-of-root is 0700
    if base is None:
        base = _default_base()
        _remove_stale(base)
    root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base))
    proc: subprocess.Popen[bytes] | None = None
    try:
        data = root / "data"
        log = root / "server.log"
        password = secrets.token_urlsafe(24)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        log.touch()
        if run_as is not None:
            for path in (root, pwfile, log):
                os.chown(path, run_as.uid, run_as.gid)
        uid = None if run_as is None else run_as.uid
        gid = None if run_as is None else run_as.gid
        extra_groups: list[int] | None = None if run_as is None else []
        # The socket path must fit in sun_path (108 bytes); without room, TCP only.
        socket_dir = str(root) if len(str(root)) < 80 else ""
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=root,
            env=_env(),
            capture_output=True,
            check=False,
            user=uid,
            group=gid,
            extra_groups=extra_groups,
        )
        if init.returncode != 0:
            raise PostgresStartError(
                f"initdb failed ({init.returncode}):\n"
                + (init.stdout + init.stderr).decode(errors="replace")[-3000:]
            )
        pwfile.unlink()
        url = URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=password,
            host="127.0.0.1",
            database="postgres",
        )
        for attempt in range(3):
            port = free_port()
            url = url.set(port=port)
            with log.open("ab") as log_out:
                proc = subprocess.Popen(
                    [
                        *die_with_parent(),
                        str(bindir / "postgres"),
                        "-D",
                        str(data),
                        "-k",
                        socket_dir,
                        "-p",
                        str(port),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=200",
                        "-c",  # shared memory segments in the directory, removed with it
                        "dynamic_shared_memory_type=mmap",
                    ],
                    cwd=root,
                    env=_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log_out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    user=uid,
                    group=gid,
                    extra_groups=extra_groups,
                )
            if _wait_ready(proc, url, timeout_s):
                break
            stop(proc)
            tail = log_tail(log)
            proc = None
            if "could not bind" not in tail or attempt == 2:
                raise PostgresStartError(f"postgres did not start:\n{tail}")
        with _connect(url) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], url: URL, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with _connect(url, timeout_s=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.05)
    return False
