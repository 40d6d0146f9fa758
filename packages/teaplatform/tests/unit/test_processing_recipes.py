"""The five built-in recipes load and validate; bad recipe files are refused with a reason."""

from pathlib import Path
from string import Template

import pytest

from teaplatform.processing.recipe import (
    Basis,
    RecipeError,
    builtin,
    get_recipe,
    load_recipe,
)

pytestmark = pytest.mark.unit


def test_one_recipe_per_tea_type_with_sources() -> None:
    recipes = builtin()
    assert sorted(r.tea_type for r in recipes.values()) == [
        "black",
        "dark",
        "green",
        "white",
        "yellow",
    ]
    for recipe in recipes.values():
        assert recipe.sources and all(s.title for s in recipe.sources)
        for stage in recipe.stages:
            assert stage.name_zh and stage.name_en
            assert stage.duration.low_min <= stage.duration.typical_min <= stage.duration.high_min


def test_the_characteristic_stages_are_there() -> None:
    keys = {name: [s.key for s in r.stages] for name, r in builtin().items()}
    assert "pile-fermentation" in keys["anhua-dark"]  # 渥堆
    assert {"first-yellowing", "second-yellowing"} <= set(keys["junshan-yinzhen"])  # 闷黄
    assert "fixing" in keys["xiaoxiang-green"]  # 杀青
    assert "fermentation" in keys["hunan-black"]
    assert keys["sangzhi-white"] == ["withering", "drying"]
    black = get_recipe("hunan-black")
    assert black.fermentation is not None
    assert [s.key for s in black.stages if s.oxidation] == ["rolling", "fermentation"]


def test_normative_figures_are_marked_and_cite_a_standard() -> None:
    normative = [
        (recipe, rng)
        for recipe in builtin().values()
        for stage in recipe.stages
        for rng in (*stage.ranges.values(), *stage.targets.values())
        if rng.basis is Basis.NORMATIVE
    ]
    assert normative  # the made-tea moisture limits
    for recipe, rng in normative:
        source = next(s for s in recipe.sources if s.id == rng.source)
        assert source.kind == "standard"


def test_unknown_recipe_lists_the_valid_ones() -> None:
    with pytest.raises(RecipeError, match="hunan-black"):
        get_recipe("oolong")


BAD = Template("""
name: bad
tea_type: green
name_zh: 坏
name_en: Bad
origin: nowhere
sources: [{id: book, title: A book, kind: textbook, cites: everything}]
stages:
  - key: drying
    name_zh: 干燥
    name_en: Drying
    duration: {low_min: 10, high_min: 20, typical_min: 15, source: book}
    ranges:
      $quantity: {low: $low, high: $high, source: $source}
""")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (("hot_air_temperature", 90, 80, "book"), "low 90.0 > high 80.0"),
        (("flux_capacitor", 1, 2, "book"), "unknown quantities"),
        (("hot_air_temperature", 80, 900, "book"), "not physical"),
        (("hot_air_temperature", 80, 90, "rumour"), "unknown sources"),
    ],
)
def test_bad_recipes_are_refused(
    tmp_path: Path, fields: tuple[str, float, float, str], reason: str
) -> None:
    quantity, low, high, source = fields
    path = tmp_path / "bad.yaml"
    path.write_text(BAD.substitute(quantity=quantity, low=low, high=high, source=source))
    with pytest.raises(RecipeError, match=reason):
        load_recipe(path)
