"""The job-spec format (`JobCreate`): examples load, bad input names the field."""

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from computenet.api.schemas import JobCreate
from computenet.data import load_catalog, load_network
from computenet.domain.hardware import Precision
from computenet.scheduling import Scheduler, make_policy

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).parents[4] / "examples" / "jobs"


@pytest.mark.parametrize("name", ["train-gang.yaml", "inference-fraction.yaml", "hpc-fp64.yaml"])
def test_documented_examples_validate_and_place_on_the_hub_network(name: str) -> None:
    job = JobCreate.model_validate(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))
    assert job.id is not None
    spec = job.to_spec(job.id, "tenant-a", 0.0)
    sched = Scheduler(load_network("china-hubs"), load_catalog(), make_policy("fifo"))
    sched.submit(spec, 0.0)
    started = sched.schedule(0.0).started
    assert [j.id for j in started] == [job.id]
    placement = started[0].placement
    assert placement is not None
    model = sched.cluster.pools[placement.pool].model
    if spec.precision is Precision.FP64:
        assert model.supports(Precision.FP64)
        assert model.name not in {"T4", "L40S", "Ascend910B", "Ascend310P"}
    if spec.accelerator_types:
        assert model.name in spec.accelerator_types


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"accelerators": -1}, "accelerators"),
        ({"precision": "fp7"}, "precision"),
        ({"accelerator_milli": 2000}, "accelerator_milli"),
        ({"work": {"reference_s": 10, "flops": 1e9}}, "work"),
        ({"id": "../etc"}, "id"),
        ({"env": {"CUDA_VISIBLE_DEVICES": "0"}}, "env"),
        ({"colour": "red"}, "colour"),
        ({"command": ""}, "command"),
    ],
)
def test_bad_fields_are_named(patch: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"command": "true", "work": {"reference_s": 10}}
    base.update(patch)
    with pytest.raises(ValidationError) as info:
        JobCreate.model_validate(base)
    locations = {str(part) for err in info.value.errors() for part in err["loc"]}
    assert field in locations
