"""`computenet up` as a real process on 127.0.0.1, for end-to-end tests and benchmarks."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = (sys.executable, "-m", "computenet.cli.main")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """Start, kill -9 and restart the service; its data directory outlives each process."""

    def __init__(
        self, data_dir: Path, network: str = "philly-like", port: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.network = network
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text(encoding="utf-8").strip()

    def start(self, timeout_s: float = 30.0) -> None:
        args = [*CLI, "up", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*args, "--network", self.network], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"computenet up exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("computenet up did not answer in time")

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
