"""Accelerator models and the hardware catalog.

Throughput figures are vendor datasheet peaks (dense, no sparsity) in TFLOPS (TOPS for
INT8). A precision a chip lacks is simply absent from `tflops`.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from computenet.domain.errors import DomainError, UnknownNameError


class Precision(StrEnum):
    FP64 = "fp64"
    FP32 = "fp32"
    TF32 = "tf32"
    BF16 = "bf16"
    FP16 = "fp16"
    INT8 = "int8"


class DeviceClass(StrEnum):
    GPU = "gpu"
    NPU = "npu"  # AI accelerators: Ascend, Cambricon MLU
    DCU = "dcu"  # Hygon DCU (GPU-like, ROCm-compatible)
    FPGA = "fpga"
    CPU = "cpu"
    SUPERCOMPUTER = "supercomputer"  # one supercomputer node (e.g. a Sunway node)


# A chip whose FP64 peak is below this fraction of its FP32 peak runs FP64 only in
# emulation-grade speed (consumer and inference GPUs run FP64 at 1/32 or 1/64 of FP32);
# HPC jobs that need FP64 never land there.
USABLE_FP64_RATIO = 0.25


@dataclass(frozen=True, slots=True)
class AcceleratorModel:
    name: str
    vendor: str
    device_class: DeviceClass
    memory_gib: float
    tdp_w: float
    tflops: Mapping[Precision, float]
    sources: tuple[str, ...] = ()
    notes: str = ""
    load_w: float | None = None  # power drawn at full load, when known apart from TDP

    def __post_init__(self) -> None:
        if not self.name:
            raise DomainError("accelerator name is empty")
        if self.memory_gib < 0 or self.tdp_w <= 0:
            raise DomainError(f"{self.name}: memory must be >= 0 and tdp_w > 0")
        if self.load_w is not None and self.load_w <= 0:
            raise DomainError(f"{self.name}: load_w must be > 0")
        for p, v in self.tflops.items():
            if v <= 0:
                raise DomainError(f"{self.name}: {p} throughput must be > 0 (omit it instead)")

    @property
    def power_w(self) -> float:
        """Power of one device at load: `load_w`, else the TDP (the convention of published
        training footprints, e.g. the Llama 2 and BLOOM papers, which count GPU TDP)."""
        return self.tdp_w if self.load_w is None else self.load_w

    def peak(self, precision: Precision) -> float:
        """Peak throughput at `precision`, 0.0 when the chip lacks it."""
        return self.tflops.get(precision, 0.0)

    def supports(self, precision: Precision) -> bool:
        """Whether work at `precision` can run here at a useful speed."""
        value = self.peak(precision)
        if value <= 0:
            return False
        if precision is Precision.FP64:
            fp32 = self.peak(Precision.FP32)
            return fp32 == 0 or value >= USABLE_FP64_RATIO * fp32
        return True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AcceleratorModel":
        try:
            tflops = {
                Precision(k.lower()): float(v) for k, v in (data.get("tflops") or {}).items() if v
            }
            return cls(
                name=str(data["name"]),
                vendor=str(data["vendor"]),
                device_class=DeviceClass(data["class"]),
                memory_gib=float(data["memory_gib"]),
                tdp_w=float(data["tdp_w"]),
                tflops=tflops,
                sources=tuple(str(s) for s in data.get("sources", ())),
                notes=str(data.get("notes", "")),
                load_w=None if data.get("load_w") is None else float(data["load_w"]),
            )
        except KeyError as exc:
            raise DomainError(f"accelerator {data.get('name', '?')}: missing field {exc}") from exc
        except ValueError as exc:
            raise DomainError(f"accelerator {data.get('name', '?')}: {exc}") from exc


@dataclass(frozen=True)
class Catalog:
    """Accelerator models by name. Lookups are case-insensitive."""

    models: Mapping[str, AcceleratorModel] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {k.lower(): v for k, v in self.models.items()})

    def get(self, name: str) -> AcceleratorModel:
        key = name.lower()
        key = self.aliases.get(key, key).lower()
        index: dict[str, AcceleratorModel] = object.__getattribute__(self, "_index")
        try:
            return index[key]
        except KeyError:
            raise UnknownNameError("accelerator", name, self.models) from None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except UnknownNameError:
            return False
        return True

    def __iter__(self) -> Iterator[AcceleratorModel]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def with_models(self, extra: Iterable[AcceleratorModel]) -> "Catalog":
        merged = dict(self.models)
        merged.update({m.name: m for m in extra})
        return Catalog(merged, self.aliases)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Catalog":
        models: dict[str, AcceleratorModel] = {}
        for item in data.get("accelerators", []):
            model = AcceleratorModel.from_dict(item)
            if model.name in models:
                raise DomainError(f"accelerator {model.name} listed twice")
            models[model.name] = model
        aliases = {str(k).lower(): str(v) for k, v in (data.get("aliases") or {}).items()}
        for alias, target in aliases.items():
            if target not in models:
                raise DomainError(f"alias {alias!r} points at unknown accelerator {target!r}")
        return cls(models, aliases)
