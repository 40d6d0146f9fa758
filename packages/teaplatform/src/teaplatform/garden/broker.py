"""A loopback Mosquitto broker for local use (`teaplatform garden broker`) and for the tests.

`write_config` writes a configuration that listens on 127.0.0.1 only, keeps nothing on disk and
lets anonymous clients in (loopback only: nothing beyond this machine can connect). As root,
Mosquitto would drop to the ``mosquitto`` user; we keep the uid we started it with
(``user root``) so that the PID we hold stays the broker's and it can read its config.
"""

import os
import shutil
from pathlib import Path
from typing import Final

DEFAULT_BINARY: Final = "/usr/sbin/mosquitto"
LOOPBACK: Final = "127.0.0.1"


class BrokerUnavailableError(RuntimeError):
    """No Mosquitto binary on this machine."""


def find_mosquitto() -> Path:
    """The ``mosquitto`` binary: $MOSQUITTO, /usr/sbin/mosquitto, or on PATH."""
    for candidate in (os.environ.get("MOSQUITTO"), DEFAULT_BINARY, shutil.which("mosquitto")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise BrokerUnavailableError(
        "Mosquitto not found: apt-get install mosquitto (or set MOSQUITTO to the binary)"
    )


def config_text(port: int, log_file: Path | None = None) -> str:
    lines = [
        f"listener {port} {LOOPBACK}",
        "allow_anonymous true",
        "persistence false",
        # lets a bridge that reconnects with a persistent session catch up on what it missed
        "max_queued_messages 100000",
        "max_inflight_messages 100",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    if log_file is not None:
        lines += [f"log_dest file {log_file}", "log_type error", "log_type warning"]
    else:
        lines += ["log_dest stderr", "log_type error", "log_type warning"]
    return "\n".join(lines) + "\n"


def write_config(directory: Path, port: int, *, log_to_file: bool = True) -> Path:
    """Write ``mosquitto.conf`` (and point its log at ``mosquitto.log``) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "mosquitto.conf"
    conf.write_text(config_text(port, directory / "mosquitto.log" if log_to_file else None))
    return conf
