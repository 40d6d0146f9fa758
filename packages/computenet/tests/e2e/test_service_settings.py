"""Settings reach the parts they configure."""

from pathlib import Path

import pytest

from computenet.backends.local import LocalBackend
from computenet.service.runtime import build_runtime
from computenet.service.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("devices", [0, 4])
def test_local_devices_per_node_reaches_every_local_site(tmp_path: Path, devices: int) -> None:
    settings = Settings(data_dir=tmp_path, network="philly-like", local_devices_per_node=devices)
    backends = build_runtime(settings).loop.backends
    assert backends and all(isinstance(b, LocalBackend) for b in backends.values())
    assert {b.devices_per_node for b in backends.values() if isinstance(b, LocalBackend)} == {
        devices
    }


def test_a_negative_device_count_is_refused() -> None:
    with pytest.raises(ValueError, match="local_devices_per_node"):
        Settings(local_devices_per_node=-1)
