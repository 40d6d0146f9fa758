"""`teaplatform detect | grade | train | models | made-tea-grade`: vision on the command line.

`detect` and `grade` run the active model version (the shipped default when the store has
none) with onnxruntime on this machine; `train` needs the ``train`` extra (torch).
Exit codes: 0 success, 1 unexpected failure, 2 bad input (files, values, config).
"""

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from teaplatform.cli.common import fail as _fail
from teaplatform.cli.common import migrated_store, parse_indicators
from teaplatform.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from teaplatform.vision.config import Config
    from teaplatform.vision.training import Finished

models_app = typer.Typer(
    help="The model registry: versions, metrics, the active one.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
ThreadsOpt = Annotated[int, typer.Option(min=1, help="onnxruntime intra-op threads")]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="a model directory to use instead of the active version"),
]


def register(app: typer.Typer) -> None:
    app.command()(detect)
    app.command()(grade)
    app.command()(train)
    app.command("made-tea-grade")(made_tea_grade)
    app.add_typer(models_app, name="models")


@contextmanager
def _session() -> Iterator["Session"]:
    with migrated_store() as store, store.session() as session:
        yield session


def _model_dir(kind: str, model: Path | None) -> Path:
    """`model` if given; else the active version in the store, else the shipped default."""
    from teaplatform.vision import registry
    from teaplatform.vision.artifacts import builtin_dir

    if model is not None:
        return model
    settings = Settings()
    if settings.database_url is None and not Path(settings.url.removeprefix("sqlite:///")).exists():
        return builtin_dir(kind)  # type: ignore[arg-type]  # no store yet: nothing registered
    with _session() as session:
        return registry.serving_dir(session, kind)  # type: ignore[arg-type]


def _images(paths: list[Path]) -> list[Path]:
    for p in paths:
        if not p.is_file():
            _fail(f"{p}: no such file")
    return paths


def detect(
    images: Annotated[list[Path], typer.Argument(help="canopy images")],
    as_json: JsonOpt = False,
    draw: Annotated[
        Path | None, typer.Option(help="write each image with boxes, points and plan here")
    ] = None,
    plan: Annotated[bool, typer.Option("--plan", help="add the pick plan to the JSON")] = False,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="score threshold")
    ] = None,
    threads: ThreadsOpt = 2,
    model: ModelOpt = None,
) -> None:
    """Detect tea shoots; give each a picking point (pixels of the input image)."""
    from PIL import Image

    from teaplatform.picking.draw import draw_picking
    from teaplatform.picking.pipeline import plan_for, shoots_of
    from teaplatform.picking.plan import ArmConfig
    from teaplatform.vision import serving
    from teaplatform.vision.data import load_rgb

    try:
        detector = serving.detector(_model_dir("detector", model), threads)
    except (OSError, ValueError) as exc:
        _fail(f"cannot load the detector: {exc}")
    arm = ArmConfig()
    results = []
    for path in _images(images):
        try:
            image = load_rgb(path)
        except OSError as exc:
            _fail(f"{path}: not an image ({exc})")
        shoots = shoots_of(image, detector.detect([image], threshold)[0], detector.classes)
        pick_plan = plan_for(image, shoots, arm)
        item: dict[str, object] = {"image": str(path), "detections": [s.to_json() for s in shoots]}
        if plan:
            item["plan"] = pick_plan.to_json()
        results.append(item)
        if draw is not None:
            draw.mkdir(parents=True, exist_ok=True)
            target = draw / f"{path.stem}.picking.png"
            draw_picking(Image.fromarray(image), shoots, pick_plan).save(target)
        if not as_json:
            counts = Counter(s.name for s in shoots)
            by_class = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
            out.print(
                f"{path}: {len(shoots)} shoots ({by_class}); plan: {pick_plan.picks} reachable, "
                f"travel {pick_plan.travel_mm / 1000:.2f} m, cycle {pick_plan.cycle_s:.1f} s"
            )
    if as_json:
        typer.echo(json.dumps(results, indent=2))


def grade(
    folder: Annotated[Path, typer.Argument(help="a folder of leaf images (searched recursively)")],
    as_json: JsonOpt = False,
    batch_size: Annotated[int, typer.Option(min=1, max=1024)] = 32,
    threads: ThreadsOpt = 2,
    model: ModelOpt = None,
) -> None:
    """Classify the leaf condition of every image in FOLDER; report throughput."""
    from teaplatform.grading.batch import grade_folder
    from teaplatform.vision import serving

    if not folder.is_dir():
        _fail(f"{folder}: not a directory")
    try:
        classifier = serving.classifier(_model_dir("classifier", model), threads)
    except (OSError, ValueError) as exc:
        _fail(f"cannot load the classifier: {exc}")
    try:
        result = grade_folder(classifier, folder, batch_size)
    except OSError as exc:
        _fail(str(exc))
    if not result.items:
        _fail(f"{folder}: no images")
    speed = f"{len(result.items)} images in {result.seconds:.2f} s: {result.images_per_second:.1f} images/s"
    if as_json:
        typer.echo(json.dumps([g.to_json() for g in result.items], indent=2))
        err.print(speed)
        return
    table = Table("image", "class", "score")
    for g in result.items:
        table.add_row(str(g.image), g.name, f"{g.score:.3f}")
    out.print(table)
    counts = Counter(g.name for g in result.items)
    out.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    out.print(speed)


def train(
    kind: Annotated[str, typer.Argument(help="detector | classifier")],
    config: Annotated[Path | None, typer.Option("--config", help="a YAML config")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="model directory [default: DATA_DIR/models/KIND-TIME]"),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="write plots here [default: OUT/report]")
    ] = None,
    register_model: Annotated[
        bool, typer.Option("--register/--no-register", help="add the result to the registry")
    ] = True,
    activate: Annotated[bool, typer.Option(help="make it the serving version")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a model from scratch on the real data (SHARED_DATA); export and check ONNX."""
    from pydantic import ValidationError

    from teaplatform.vision.config import KINDS, load_config, resolve_data

    if kind not in KINDS:
        _fail(f"unknown kind {kind!r}: choose from {', '.join(KINDS)}")
    try:
        cfg = load_config(kind, config)
    except (OSError, ValueError, ValidationError) as exc:
        _fail(f"bad config: {exc}")
    shared = Path(os.environ.get("SHARED_DATA", "../shared/data"))
    data_root = resolve_data(cfg.data, shared)
    if not data_root.is_dir():
        _fail(f"training data not found at {data_root} (set SHARED_DATA)")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = out_dir or Settings().data_dir / "models" / f"{kind}-{stamp}"
    finished = _run_training(cfg, data_root, target, report or target / "report", as_json)
    card = finished.card
    if register_model:
        from teaplatform.vision import registry

        with _session() as session:
            row = registry.register(session, target, datetime.now(UTC), activate=activate)
            card_note = f"registered as {kind} version {row.version} (id {row.id})"
    else:
        card_note = "not registered"
    if as_json:
        typer.echo(json.dumps(card.model_dump(mode="json"), indent=2))
        return
    m = card.metrics
    figure = (
        f"mAP@0.5 {m['map50']:.3f}, mAP@0.5:0.95 {m['map50_95']:.3f}"
        if kind == "detector"
        else f"accuracy {m['accuracy']:.3f}"
    )
    out.print(
        f"{kind} -> {target}: {figure} on {card.split['val_images']} held-out images; "
        f"trained in {card.training['seconds'] / 60:.1f} min; {card_note}"
    )


def _run_training(
    cfg: "Config", data_root: Path, target: Path, report: Path, quiet: bool
) -> "Finished":
    """Run the loop for `cfg`'s kind with a rich progress bar on stderr."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from teaplatform.vision.config import DetectorConfig

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, disable=quiet or not sys.stderr.isatty()) as bar:
        task = bar.add_task("training", total=None)

        def progress(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message)

        try:
            if isinstance(cfg, DetectorConfig):
                from teaplatform.vision.detector_training import train_detector

                return train_detector(cfg, data_root, target, report, progress)
            from teaplatform.vision.classifier_training import train_classifier

            return train_classifier(cfg, data_root, target, report, progress)
        except (OSError, ValueError) as exc:
            _fail(str(exc))


def made_tea_grade(
    tea: Annotated[str, typer.Argument(help="tea type in the rule file, e.g. green, black")],
    indicator: Annotated[
        list[str],
        typer.Option("--indicator", "-i", help="NAME=VALUE, e.g. -i moisture=6.2 -i powder=0.8"),
    ],
    rules: Annotated[
        Path | None, typer.Option(help="a rule file [default: the shipped one]")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Grade a made-tea sample from measured indicators by the grade rules."""
    from pydantic import ValidationError

    from teaplatform.grading.rules import RULES_FILE, grade_sample, load_rules

    values = parse_indicators(indicator)
    try:
        book = load_rules(rules or RULES_FILE)
        result = grade_sample(book, tea, values)
    except (OSError, ValidationError) as exc:
        _fail(f"bad rule file: {exc}")
    except KeyError as exc:
        _fail(str(exc.args[0]))
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    out.print(f"{tea}: [bold]{result.grade}[/bold]")
    for reason in result.reasons:
        out.print(f"  {reason}")


@models_app.command("list")
def models_list(
    kind: Annotated[str | None, typer.Option(help="detector | classifier")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Registered versions with their headline metric; * marks the active ones."""
    from teaplatform.vision import registry

    if kind is not None and kind not in ("detector", "classifier"):
        _fail(f"unknown kind {kind!r}")
    with _session() as session:
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "version": r.version,
                "active": r.active,
                "path": r.path,
                "metrics": {k: v for k, v in r.metrics.items() if not isinstance(v, (dict, list))},
                "created_at": r.created_at.isoformat(),
            }
            for r in registry.versions(session, kind)  # type: ignore[arg-type]
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "kind", "version", "active", "headline", "path")
    for r in rows:
        metrics = r["metrics"]
        assert isinstance(metrics, dict)
        headline = (
            f"mAP50 {metrics.get('map50', 0):.3f}"
            if r["kind"] == "detector"
            else f"acc {metrics.get('accuracy', 0):.3f}"
        )
        table.add_row(
            str(r["id"]),
            str(r["kind"]),
            str(r["version"]),
            "*" if r["active"] else "",
            headline,
            str(r["path"]),
        )
    out.print(table)


@models_app.command("activate")
def models_activate(version_id: int) -> None:
    """Make a version the one that serves its kind."""
    from teaplatform.vision import registry

    try:
        with _session() as session:
            row = registry.set_active(session, version_id)
            out.print(f"{row.kind} now serves version {row.version} (id {row.id})")
    except registry.RegistryError as exc:
        _fail(str(exc))


@models_app.command("register")
def models_register(
    directory: Path,
    version: Annotated[
        str | None, typer.Option(help="a name [default: from the ONNX hash]")
    ] = None,
    activate: bool = False,
) -> None:
    """Add a trained model directory (model.onnx + card.json) to the registry."""
    from teaplatform.vision import registry

    try:
        with _session() as session:
            row = registry.register(session, directory, datetime.now(UTC), version, activate)
            out.print(f"registered {row.kind} version {row.version} (id {row.id})")
    except registry.RegistryError as exc:
        _fail(str(exc))
