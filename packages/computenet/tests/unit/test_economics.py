"""Site economics: hourly profiles, the calendar, energy windows, power caps and racks."""

import datetime as dt
from typing import Any

import pytest

from computenet.data import load_catalog, load_network
from computenet.domain.economics import Calendar, HourlyProfile, SiteEnergy
from computenet.domain.errors import DomainError
from computenet.domain.network import Network
from computenet.scheduling.economics import CARBON, PRICE, EnergyModel

pytestmark = pytest.mark.unit

CHINA = dt.timezone(dt.timedelta(hours=8))


def hours(day: float, night: float, lo: int = 8, hi: int = 20) -> list[float]:
    return [day if lo <= h < hi else night for h in range(24)]


def test_profile_from_number_hours_and_seasons() -> None:
    flat = HourlyProfile.from_spec(0.3, "p")
    assert flat.at(1, 0) == flat.at(12, 23) == 0.3
    summer = hours(0.9, 0.2)
    p = HourlyProfile.from_spec(
        {"hours": hours(0.5, 0.1), "seasons": [{"months": [7, 8], "hours": summer}]}, "p"
    )
    assert p.at(1, 12) == 0.5 and p.at(1, 3) == 0.1
    assert p.at(7, 12) == 0.9 and p.at(8, 3) == 0.2
    assert p.low == 0.1 and p.high == 0.9


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"hours": [1.0] * 23}, "24 hourly values"),
        ({"hours": [1.0] * 24, "seasons": [{"months": [13], "hours": [1.0] * 24}]}, "not a month"),
        ({"hours": [1.0] * 24, "sesons": []}, "unknown field"),
        ("cheap", "number or a mapping"),
        (True, "number or a mapping"),
    ],
)
def test_profile_errors_name_the_problem(spec: Any, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        HourlyProfile.from_spec(spec, "p")


def test_site_energy_carbon_is_the_grid_share_not_covered_by_green_supply() -> None:
    energy = SiteEnergy.from_dict(
        {
            "grid_kg_per_kwh": "grid",
            "green_share": {"hours": hours(0.8, 0.2)},
            "price_per_kwh": 0.5,
        },
        {"grid": 0.6},
    )
    assert energy.carbon_kg_per_kwh(5, 12) == pytest.approx(0.2 * 0.6)
    assert energy.carbon_kg_per_kwh(5, 2) == pytest.approx(0.8 * 0.6)
    with pytest.raises(DomainError, match="unknown profile 'nope'"):
        SiteEnergy.from_dict({"grid_kg_per_kwh": "nope", "price_per_kwh": 1}, {})
    with pytest.raises(DomainError, match=r"within 0\.\.1"):
        SiteEnergy.from_dict({"grid_kg_per_kwh": 0.5, "green_share": 1.5, "price_per_kwh": 1}, {})


def test_calendar_maps_scheduler_time_to_china_local_time() -> None:
    cal = Calendar.starting("2017-09-04T10:30:00")  # local time at time 0
    assert cal.origin_s == dt.datetime(2017, 9, 4, 10, 30, tzinfo=CHINA).timestamp()
    index = cal.local_hour_index(0.0)
    assert Calendar.month_hour(index) == (9, 10)
    # 14 h later it is 00:30 on 5 September; 27 days later, October
    assert Calendar.month_hour(cal.local_hour_index(14 * 3600.0)) == (9, 0)
    assert Calendar.month_hour(cal.local_hour_index(27 * 86400.0))[0] == 10
    assert cal.time_of_hour(index + 1) == pytest.approx(1800.0)  # 11:00 is 30 min away


def two_site_network(**energy: Any) -> Network:
    day_green = {"hours": hours(1.0, 0.0)}  # fully green 08:00-20:00, grid power at night
    return Network.from_dict(
        {
            "name": "t",
            "profiles": {"day-green": day_green},
            "sites": [
                {
                    "name": "sunny",
                    "pue": 1.25,
                    "pools": [
                        {"name": "p", "accelerator": "A100", "accelerators_per_node": 8, "nodes": 1}
                    ],
                    "energy": {
                        "grid_kg_per_kwh": 0.8,
                        "green_share": "day-green",
                        "price_per_kwh": 0.5,
                        **energy,
                    },
                },
                {
                    "name": "dark",
                    "pools": [
                        {"name": "p", "accelerator": "A100", "accelerators_per_node": 8, "nodes": 1}
                    ],
                },
            ],
        }
    )


def test_window_means_are_exact_across_hour_boundaries() -> None:
    net = two_site_network()
    cal = Calendar.starting("2024-03-01T07:00:00")
    model = EnergyModel(net, cal)
    # 07:00-09:00: one grid hour (0.8 kg/kWh) and one green hour (0)
    w = model.window(0, 0.0, 7200.0)
    assert w.carbon_kg_per_kwh == pytest.approx(0.4)
    assert w.green_share == pytest.approx(0.5)
    assert w.price_per_kwh == pytest.approx(0.5)
    # 07:30-08:15: 30 min grid, 15 min green
    assert model.mean(0, CARBON, 1800.0, 4500.0) == pytest.approx(0.8 * 30 / 45)
    assert model.window(0, 3600.0, 3600.0).carbon_kg_per_kwh == 0.0  # empty: the value at 08:00
    # far ahead (the tables grow) and before the first question (they rebuild)
    assert model.mean(0, CARBON, 200 * 86400.0 + 3600.0, 200 * 86400.0 + 7200.0) == 0.0
    assert model.mean(0, CARBON, -3600.0, 0.0) == pytest.approx(0.8)
    # the site without data takes the network's mean figures
    assert model.mean(1, PRICE, 0.0, 3600.0) == pytest.approx(0.5)
    assert model.reference.carbon_kg_per_kwh == pytest.approx(0.8 * 12 / 24)


def test_builtin_china_hubs_has_energy_for_every_site_and_fits_its_racks() -> None:
    net = load_network("china-hubs")
    catalog = load_catalog()
    for site in net.sites:
        assert site.energy is not None, site.name
        assert 0 < site.energy.grid_kg_per_kwh < 1
        assert site.rack_kw is not None
        for pool in site.pools:
            assert (
                pool.shape.accelerators * catalog.get(pool.shape.accelerator).power_w
                <= site.rack_kw * 1000
            )
    # the MEE 2022 factors: Sichuan's hydro grid is the cleanest, Hebei's the dirtiest here
    factors = {s.name: s.energy.grid_kg_per_kwh for s in net.sites if s.energy is not None}
    assert min(factors, key=factors.__getitem__) == "chengyu"
    assert max(factors, key=factors.__getitem__) == "jingjinji"
    # western hubs: greener and cheaper on average than the eastern ones
    model = EnergyModel(net, Calendar.starting("2024-05-01T00:00:00"))
    year = 365 * 86400.0
    west = [model.window(model.index[s], 0.0, year) for s in ("neimenggu", "ningxia", "gansu")]
    east = [model.window(model.index[s], 0.0, year) for s in ("changsanjiao", "yuegangao")]
    assert max(w.price_per_kwh for w in west) < min(w.price_per_kwh for w in east)
    assert min(w.green_share for w in west) > max(w.green_share for w in east)


def test_a_node_larger_than_a_rack_is_rejected(tmp_path: Any) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(
        "name: n\nsites:\n  - name: s\n    rack_kw: 4\n    pools:\n"
        "      - {name: p, accelerator: H100, accelerators_per_node: 8, nodes: 1}\n"
    )
    with pytest.raises(DomainError, match=r"draws 5\.6 kW at load, more than one 4 kW rack"):
        load_network(path)


def test_scaling_a_network_scales_power_caps_and_keeps_energy() -> None:
    net = load_network("china-hubs")
    small = net.scaled(0.5)
    for big, half in zip(net.sites, small.sites, strict=True):
        assert half.energy == big.energy and half.rack_kw == big.rack_kw
        assert big.power_cap_kw is not None and half.power_cap_kw == pytest.approx(
            big.power_cap_kw / 2
        )
