"""A throwaway Mosquitto MQTT broker for tests, on 127.0.0.1 only.

    with running_mosquitto() as (host, port):
        client.connect(host, port)

The configuration comes from `teaplatform.garden.broker` (the one `teaplatform garden broker`
runs): a listener on 127.0.0.1 and a free port, no persistence, anonymous clients. The broker
runs as our own process (``/usr/sbin/mosquitto -c CONF``; the PID we hold is the broker's), gets
SIGTERM if we die, and is stopped by that PID. `BrokerUnavailableError` when it is not installed.
"""

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from teaplatform.garden.broker import LOOPBACK, BrokerUnavailableError, find_mosquitto, write_config
from testkit.proc import die_with_parent, free_port, log_tail, stop

__all__ = ["BrokerUnavailableError", "running_mosquitto"]


class BrokerStartError(RuntimeError):
    """Mosquitto exited or never accepted connections; the message carries its log."""


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def running_mosquitto(timeout_s: float = 10.0, attempts: int = 3) -> Iterator[tuple[str, int]]:
    """Run a private broker while the block runs; yields (host, port)."""
    binary = find_mosquitto()
    with tempfile.TemporaryDirectory(prefix="testkit-mqtt-") as tmp:
        directory = Path(tmp)
        for attempt in range(attempts):  # a free port can be taken between choosing and binding
            port = free_port()
            conf = write_config(directory, port)
            log = directory / "mosquitto.log"
            proc = subprocess.Popen(
                [*die_with_parent("SIGTERM"), str(binary), "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + timeout_s
                while proc.poll() is None and not _accepts(port):
                    if time.monotonic() > deadline:
                        raise BrokerStartError(f"mosquitto did not start:\n{log_tail(log)}")
                    time.sleep(0.02)
                if proc.poll() is not None:
                    if attempt + 1 < attempts:
                        continue
                    raise BrokerStartError(
                        f"mosquitto exited ({proc.returncode}):\n{log_tail(log)}"
                    )
                yield LOOPBACK, port
                return
            finally:
                stop(proc)
