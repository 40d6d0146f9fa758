"""Built-in data files: the hardware catalog and example networks.

The YAML files ship inside the package (`accelerators.yaml`, `networks/*.yaml`) and are read
through `importlib.resources`, so they work from a source checkout, a wheel or a zip.

    load_catalog()              the hardware catalog (cached)
    network_names()             names of the built-in networks
    load_network(name_or_path)  a built-in network by name, or a network YAML file by path

Errors are `computenet.domain.errors.DomainError`; an unknown network name raises its subclass
`UnknownNameError`, whose message lists the valid names.
"""

import functools
import os
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.hardware import Catalog
from computenet.domain.network import Network

__all__ = ["load_catalog", "load_network", "network_names"]

CATALOG_FILE = "accelerators.yaml"
NETWORKS_DIR = "networks"
_SUFFIX = ".yaml"


def _root() -> Traversable:
    return resources.files(__name__)


def _parse_yaml(text: str, origin: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DomainError(f"{origin}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DomainError(f"{origin}: expected a mapping at the top level")
    return data


@functools.cache
def load_catalog() -> Catalog:
    """The built-in hardware catalog (parsed once, then cached)."""
    text = (_root() / CATALOG_FILE).read_text(encoding="utf-8")
    return Catalog.from_dict(_parse_yaml(text, CATALOG_FILE))


def network_names() -> list[str]:
    """Names of the built-in networks (file stems under `data/networks`), sorted."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in (_root() / NETWORKS_DIR).iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    )


def load_network(
    name_or_path: str | os.PathLike[str], *, catalog: Catalog | None = None
) -> Network:
    """A built-in network by name (see `network_names()`), or one read from a YAML file.

    A built-in name wins over a file of the same name. Every pool's accelerator must be in
    `catalog` (the built-in catalog by default).
    """
    name = os.fspath(name_or_path)
    if name in network_names():
        origin = f"network {name!r}"
        text = (_root() / NETWORKS_DIR / f"{name}{_SUFFIX}").read_text(encoding="utf-8")
    else:
        path = Path(name)
        if not path.is_file():
            raise UnknownNameError("network", name, network_names())
        origin = str(path)
        text = path.read_text(encoding="utf-8")
    network = Network.from_dict(_parse_yaml(text, origin))
    _check_accelerators(network, load_catalog() if catalog is None else catalog)
    return network


def _check_accelerators(network: Network, catalog: Catalog) -> None:
    for site in network.sites:
        for pool in site.pools:
            model = pool.shape.accelerator
            if model not in catalog:
                raise DomainError(
                    f"network {network.name}: site {site.name}, pool {pool.name}: "
                    f"unknown accelerator {model!r}; valid: {', '.join(sorted(catalog.models))}"
                )
            node_kw = pool.shape.accelerators * catalog.get(model).power_w / 1000.0
            if site.rack_kw is not None and node_kw > site.rack_kw:
                raise DomainError(
                    f"network {network.name}: site {site.name}, pool {pool.name}: a node draws "
                    f"{node_kw:g} kW at load, more than one {site.rack_kw:g} kW rack"
                )
