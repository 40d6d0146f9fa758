"""The built-in data files: hardware catalog and example networks."""

from pathlib import Path

import pytest

from computenet.data import load_catalog, load_network, network_names
from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.hardware import DeviceClass, Precision

pytestmark = pytest.mark.unit

CHINA_HUBS = {
    "jingjinji",
    "changsanjiao",
    "yuegangao",
    "chengyu",
    "neimenggu",
    "guizhou",
    "gansu",
    "ningxia",
}

REQUIRED_MODELS = [
    "H100",
    "H800",
    "A100",
    "A800",
    "V100",
    "T4",
    "A10",
    "L40S",
    "P100",
    "Ascend910B",
    "Ascend310P",
    "MLU370-X8",
    "DCU-Z100",
    "Sunway-SW26010",
    "Alveo-U250",
    "Xeon8480-2S",
]


def test_catalog_loads_and_is_cached() -> None:
    catalog = load_catalog()
    assert load_catalog() is catalog
    for name in REQUIRED_MODELS:
        assert name in catalog
    assert len(catalog) == len(REQUIRED_MODELS)


def test_every_model_has_sources_notes_and_sane_figures() -> None:
    for model in load_catalog():
        assert model.sources, model.name
        assert model.notes, model.name
        assert model.tflops, model.name
        assert model.tdp_w > 0
        assert all(v > 0 for v in model.tflops.values())


def test_device_classes_cover_every_kind() -> None:
    classes = {m.device_class for m in load_catalog()}
    assert classes == set(DeviceClass)
    catalog = load_catalog()
    assert catalog.get("Sunway-SW26010").device_class is DeviceClass.SUPERCOMPUTER
    assert catalog.get("Ascend910B").device_class is DeviceClass.NPU
    assert catalog.get("DCU-Z100").device_class is DeviceClass.DCU
    assert catalog.get("Alveo-U250").device_class is DeviceClass.FPGA
    assert catalog.get("Xeon8480-2S").device_class is DeviceClass.CPU


def test_throughput_ordering_is_plausible() -> None:
    c = load_catalog()
    h100, a100, v100 = c.get("H100"), c.get("A100"), c.get("V100")
    assert h100.peak(Precision.BF16) > a100.peak(Precision.BF16) > v100.peak(Precision.FP16) / 2
    assert h100.peak(Precision.FP64) > a100.peak(Precision.FP64) > v100.peak(Precision.FP64)
    # the China-market variants keep tensor throughput; the H800 loses FP64
    assert c.get("H800").peak(Precision.BF16) == h100.peak(Precision.BF16)
    assert c.get("A800").tflops == a100.tflops
    assert c.get("H800").peak(Precision.FP64) < h100.peak(Precision.FP64) / 10
    # inference cards are slower than training parts and draw far less power
    t4, a10, l40s = c.get("T4"), c.get("A10"), c.get("L40S")
    assert t4.peak(Precision.FP16) < a10.peak(Precision.FP16) < l40s.peak(Precision.FP16)
    assert l40s.peak(Precision.FP16) < h100.peak(Precision.FP16)
    assert t4.tdp_w < a10.tdp_w < l40s.tdp_w < h100.tdp_w
    # INT8 runs at twice the 16-bit tensor rate where both are given (NVIDIA, Ascend)
    for name in ("H100", "A100", "A10", "Ascend910B", "Ascend310P"):
        model = c.get(name)
        assert model.peak(Precision.INT8) == pytest.approx(2 * model.peak(Precision.FP16))
    # dense figures, not sparse ones: an A100 is 312 TFLOPS at BF16, not 624
    assert a100.peak(Precision.BF16) == 312
    assert h100.peak(Precision.BF16) < 1000


@pytest.mark.parametrize("name", ["H100", "A100", "V100", "Sunway-SW26010", "DCU-Z100"])
def test_fp64_usable(name: str) -> None:
    assert load_catalog().get(name).supports(Precision.FP64)


@pytest.mark.parametrize("name", ["T4", "A10", "L40S", "Ascend910B", "Ascend310P", "H800"])
def test_fp64_not_usable(name: str) -> None:
    assert not load_catalog().get(name).supports(Precision.FP64)


def test_missing_precisions() -> None:
    c = load_catalog()
    assert not c.get("V100").supports(Precision.BF16)  # Volta has no BF16
    assert not c.get("T4").supports(Precision.TF32)
    assert c.get("A100").supports(Precision.TF32)
    assert not c.get("Sunway-SW26010").supports(Precision.FP16)


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("V100M16", "V100"),
        ("V100M32", "V100"),
        ("v100m32", "V100"),
        ("G2", "A10"),
        ("G3", "A100"),
        ("Tesla T4", "T4"),
        ("910B", "Ascend910B"),
        ("TaihuLight", "Sunway-SW26010"),
        ("h100", "H100"),
    ],
)
def test_aliases_resolve(alias: str, target: str) -> None:
    catalog = load_catalog()
    assert alias in catalog
    assert catalog.get(alias).name == target


def test_unknown_accelerator_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="H100"):
        load_catalog().get("B200")


def test_built_in_networks() -> None:
    assert network_names() == ["china-hubs", "philly-like"]
    catalog = load_catalog()
    for name in network_names():
        network = load_network(name)
        assert network.illustrative
        assert "ILLUSTRATIVE" in network.description
        for site in network.sites:
            for pool in site.pools:
                assert pool.shape.accelerator in catalog, (site.name, pool.name)


def test_philly_like_has_2048_v100() -> None:
    network = load_network("philly-like")
    assert network.accelerators == 2048
    assert [s.name for s in network.sites] == ["east", "north", "west"]
    for site in network.sites:
        for pool in site.pools:
            assert pool.shape.accelerator == "V100"
            assert pool.shape.accelerators == 8
            assert (pool.shape.cpus, pool.shape.memory_gib) == (48, 512)
    assert len(network.links) == 3


def test_china_hubs() -> None:
    network = load_network("china-hubs")
    names = {s.name for s in network.sites}
    assert names >= CHINA_HUBS
    assert "wuxi" in names
    assert 2400 <= network.accelerators <= 3000
    # Wuxi carries Sunway nodes; western hubs run cooler than eastern ones
    wuxi_models = {p.shape.accelerator for p in network.site("wuxi").pools}
    assert "Sunway-SW26010" in wuxi_models
    west = ["neimenggu", "guizhou", "gansu", "ningxia"]
    east = ["jingjinji", "changsanjiao", "yuegangao"]
    assert max(network.site(s).pue for s in west) < min(network.site(s).pue for s in east)
    for site in network.sites:
        assert site.latitude is not None
        assert site.longitude is not None
        assert 18 < site.latitude < 54
        assert 73 < site.longitude < 135
    # every site is reachable: links form one connected graph
    adjacent: dict[str, set[str]] = {name: set() for name in names}
    for link in network.links:
        adjacent[link.a].add(link.b)
        adjacent[link.b].add(link.a)
    seen: set[str] = set()
    todo = ["jingjinji"]
    while todo:
        here = todo.pop()
        if here not in seen:
            seen.add(here)
            todo.extend(adjacent[here] - seen)
    assert seen == names


def test_unknown_network_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_network("no-such-network")
    message = str(info.value)
    assert "china-hubs" in message
    assert "philly-like" in message
    assert isinstance(info.value, DomainError)


def test_network_from_path(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "name: tiny\n"
        "sites:\n"
        "  - name: a\n"
        "    pools:\n"
        "      - {name: p, accelerator: V100M32, accelerators_per_node: 8, nodes: 2}\n",
        encoding="utf-8",
    )
    network = load_network(str(path))
    assert network.name == "tiny"
    assert network.accelerators == 16


def test_network_with_unknown_accelerator_names_site_and_pool(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\n"
        "sites:\n"
        "  - name: site-x\n"
        "    pools:\n"
        "      - {name: pool-y, accelerator: Z9000, accelerators_per_node: 8, nodes: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(DomainError, match=r"site-x.*pool-y.*Z9000"):
        load_network(path)


def test_network_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(DomainError, match="mapping"):
        load_network(path)
