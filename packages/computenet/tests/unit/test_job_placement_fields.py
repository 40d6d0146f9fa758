"""The job spec's placement fields (data, deadline, deferral, checkpoints) through the API
schema and the store's codec; "why here" on the public placement."""

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from computenet.api.schemas import JobCreate, PlacementPublic
from computenet.data import load_catalog, load_network
from computenet.domain.errors import DomainError
from computenet.domain.jobs import JobSpec, Work
from computenet.scheduling import Scheduler, make_policy
from computenet.store.codec import job_spec_from_dict, job_spec_to_dict

pytestmark = pytest.mark.unit
EXAMPLE = Path(__file__).parents[4] / "examples" / "jobs" / "train-deferrable.yaml"


def test_the_deferrable_example_maps_to_a_spec_and_round_trips_through_the_store() -> None:
    job = JobCreate.model_validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    spec = job.to_spec("resnet-sweep-007", "lab-a", 100.0)
    assert (spec.dataset_site, spec.dataset_gb) == ("jingjinji", 800.0)
    assert spec.deferrable and spec.deadline_s == 86_400.0
    assert spec.checkpoint_interval_s == 1_800.0
    assert job_spec_from_dict(job_spec_to_dict(spec)) == spec
    # a spec without them is stored as before (no new keys)
    plain = JobSpec(id="p", tenant="t", work=Work(reference_s=1.0))
    stored = job_spec_to_dict(plain)
    assert not {"dataset_site", "deferrable", "deadline_s", "checkpoint_interval_s"} & set(stored)
    assert job_spec_from_dict(stored) == plain
    # on the hub network under a green profile: placed, with its reasons recorded
    sched = Scheduler(
        load_network("china-hubs"), load_catalog(), make_policy("green"), record_events=True
    )
    record = sched.submit(spec, 100.0)
    result = sched.schedule(100.0)
    if not result.started:  # held for a better hour: it starts then
        assert result.wakeup_at is not None and record.deferred_s > 0
        result = sched.schedule(result.wakeup_at)
    assert [j.id for j in result.started] == ["resnet-sweep-007"]
    why = record.why
    assert why is not None and why.profile == "green" and why.wait_s == record.deferred_s
    public = PlacementPublic(
        site=why.site, pool=why.pool, accelerator=why.accelerator, slots=[], why=why.to_dict()
    )
    assert public.why is not None and public.why["site"] == why.site


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"dataset_gb": -1}, "dataset_gb"),
        ({"deadline_s": 0}, "deadline_s"),
        ({"checkpoint_interval_s": -5}, "checkpoint_interval_s"),
        ({"dataset_gb": 10}, "dataset_site"),  # a size without a site
    ],
)
def test_bad_placement_fields_are_named(patch: dict[str, object], field: str) -> None:
    data = {"command": "true", "work": {"reference_s": 1}, **patch}
    with pytest.raises(ValidationError) as info:
        JobCreate.model_validate(data)
    assert field in str(info.value)


def test_the_domain_checks_the_same_fields() -> None:
    for bad in ({"dataset_gb": 5.0}, {"deadline_s": -1.0}, {"checkpoint_interval_s": 0.0}):
        with pytest.raises(DomainError):
            JobSpec(id="x", tenant="t", work=Work(reference_s=1.0), **bad)  # type: ignore[arg-type]
