"""Processing recipes: the stages of a tea and the parameter ranges of each (pure).

A recipe is a YAML file in ``recipes/`` validated here at load time: stages in order, each with
a planned duration, ranges that every reading during the stage should stay in, end-of-stage
targets (e.g. the leaf moisture when drying ends), and the sources its figures come from. Every
figure says whether it is *normative* (a limit written in the cited standard) or *typical* (a
usual value from a textbook or paper: guidance, not a rule).
"""

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from teaplatform.garden.readings import QUANTITIES

RECIPES_DIR: Final = Path(__file__).resolve().parent / "recipes"
TEA_TYPES: Final = ("green", "black", "dark", "white", "yellow")
SLUG = r"^[a-z0-9][a-z0-9-]*$"


class Basis(StrEnum):
    NORMATIVE = "normative"  # written in the cited standard
    TYPICAL = "typical"  # usual practice (textbook, paper): guidance


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Frozen):
    id: str = Field(pattern=SLUG)
    title: str
    kind: Literal["standard", "textbook", "paper", "review", "description"]
    cites: str  # what this recipe takes from it
    url: str | None = None


class Range(_Frozen):
    """An interval for one quantity; either bound may be open."""

    low: float | None = None
    high: float | None = None
    typical: float | None = None
    basis: Basis = Basis.TYPICAL
    source: str
    sustain_s: int | None = Field(default=None, gt=0)  # overrides the recipe's alarm policy
    note: str = ""

    @model_validator(mode="after")
    def _bounds(self) -> "Range":
        if self.low is None and self.high is None:
            raise ValueError("a range needs a low or a high bound")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        if self.typical is not None and not self.contains(self.typical):
            raise ValueError(f"typical {self.typical} is outside [{self.low}, {self.high}]")
        return self

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}–{self.high:g}"
        return f"≥ {self.low:g}" if self.low is not None else f"≤ {self.high:g}"


class Duration(_Frozen):
    """Planned duration of a stage, in minutes."""

    low_min: float = Field(gt=0)
    high_min: float = Field(gt=0)
    typical_min: float = Field(gt=0)
    basis: Basis = Basis.TYPICAL
    source: str
    note: str = ""

    @model_validator(mode="after")
    def _order(self) -> "Duration":
        if not self.low_min <= self.typical_min <= self.high_min:
            raise ValueError("duration needs low_min <= typical_min <= high_min")
        return self


class Stage(_Frozen):
    key: str = Field(pattern=SLUG)
    name_zh: str
    name_en: str
    duration: Duration
    ranges: dict[str, Range] = Field(default_factory=dict)  # quantity → range during the stage
    targets: dict[str, Range] = Field(default_factory=dict)  # quantity → range at its end
    oxidation: bool = False  # polyphenols oxidise here (counts for the fermentation degree)
    note: str = ""

    @model_validator(mode="after")
    def _quantities(self) -> "Stage":
        unknown = sorted((set(self.ranges) | set(self.targets)) - set(QUANTITIES))
        if unknown:
            raise ValueError(f"stage {self.key}: unknown quantities {unknown}")
        for quantity, rng in {**self.ranges, **self.targets}.items():
            spec = QUANTITIES[quantity]
            for bound in (rng.low, rng.high):
                if bound is not None and not spec.low <= bound <= spec.high:
                    raise ValueError(f"stage {self.key}: {quantity} bound {bound} is not physical")
        return self


class AlarmPolicy(_Frozen):
    sustain_s: int = Field(default=300, gt=0)  # out of range this long before an alarm opens
    clear_s: int = Field(default=120, gt=0)  # back in range this long before it resolves


class Kinetics(_Frozen):
    """First-order oxidation of the catechins with an Arrhenius temperature factor."""

    k_ref_per_h: float = Field(gt=0)  # rate constant at t_ref_c
    t_ref_c: float
    ea_kj_mol: float = Field(gt=0)
    target_low: float = Field(gt=0, lt=1)  # degree (share of catechins oxidised) to reach
    target_high: float = Field(gt=0, lt=1)
    source: str
    note: str = ""


class Recipe(_Frozen):
    name: str = Field(pattern=SLUG)
    tea_type: Literal["green", "black", "dark", "white", "yellow"]
    name_zh: str
    name_en: str
    origin: str
    sources: list[Source] = Field(min_length=1)
    alarm: AlarmPolicy = AlarmPolicy()
    stages: list[Stage] = Field(min_length=1)
    fermentation: Kinetics | None = None
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "Recipe":
        keys = [s.key for s in self.stages]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate stage keys in {keys}")
        known = {s.id for s in self.sources}
        cited = {s.duration.source for s in self.stages}
        cited |= {r.source for s in self.stages for r in (*s.ranges.values(), *s.targets.values())}
        if self.fermentation is not None:
            cited.add(self.fermentation.source)
        missing = sorted(cited - known)
        if missing:
            raise ValueError(f"figures cite unknown sources {missing}; known: {sorted(known)}")
        if self.fermentation is not None and not any(s.oxidation for s in self.stages):
            raise ValueError("a fermentation model needs at least one oxidation stage")
        return self

    def stage(self, index: int) -> Stage:
        return self.stages[index]

    @property
    def typical_minutes(self) -> float:
        return sum(s.duration.typical_min for s in self.stages)


class RecipeError(ValueError):
    """A recipe file is invalid, or a name is unknown."""


def load_recipe(path: Path) -> Recipe:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Recipe.model_validate(raw)
    except (yaml.YAMLError, ValueError) as exc:
        raise RecipeError(f"{path.name}: {exc}") from exc


def load_recipes(directory: Path = RECIPES_DIR) -> dict[str, Recipe]:
    """Every recipe of `directory` by name (file names are free; names must be unique)."""
    recipes: dict[str, Recipe] = {}
    for path in sorted(directory.glob("*.yaml")):
        recipe = load_recipe(path)
        if recipe.name in recipes:
            raise RecipeError(f"two recipes are named {recipe.name!r}")
        recipes[recipe.name] = recipe
    return recipes


@cache
def builtin() -> dict[str, Recipe]:
    """The recipes that come with the package (loaded and validated once)."""
    return load_recipes()


def get_recipe(name: str) -> Recipe:
    recipes = builtin()
    if name not in recipes:
        raise RecipeError(f"unknown recipe {name!r}; choose one of {', '.join(sorted(recipes))}")
    return recipes[name]
