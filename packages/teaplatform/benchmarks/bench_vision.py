"""Benchmark: picking-robot vision and leaf grading with the shipped models (onnxruntime).

Goals (product.md, issue 7): shoot detection mAP@0.5 >= 0.80 on held-out photos; detector
inference <= 100 ms per image on CPU; leaf classification accuracy >= 95 % on held-out
images; default training of each model <= 30 min on 2 cores.

Figures, all on the real data in $SHARED_DATA and the models in teaplatform/vision/weights:

* detection — mAP@0.5, mAP@0.5:0.95, class-agnostic AP@0.5, per-class AP/P/R on the held-out
  photos (split by source photo, as at training), recomputed here with onnxruntime;
* latency — one 640x640 canopy image at a time, `--threads` intra-op threads: the network
  alone (320x320 input) and end to end (letterbox, network, decode + NMS, picking points);
  median and p90 over `--repeats` passes over the held-out images;
* classification — accuracy and per-class precision/recall on the held-out leaf images;
* grading throughput — `grade_folder` over the whole leaf folder (decode, resize, inference);
* picking points — error of the estimate against the outline-derived truth on held-out
  shoots (labelled boxes, so detection errors do not mix in), fraction fitted on training
  shoots; with and without the lean read from the pixels;
* pick plan — reachable shoots and cycle time per held-out image with the default arm;
* training time — as the training command measured it (from the model cards).

    nice .venv/bin/python packages/teaplatform/benchmarks/bench_vision.py [--threads 2]
        [--repeats 3] [--figures docs/teaplatform/img] [--json]

`--figures DIR` also draws the README's pictures from held-out data: detections, picking
points and pick plans on canopy images, and graded leaf images (vision_*.png).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from teaplatform.grading.batch import grade_folder
from teaplatform.picking.draw import draw_picking
from teaplatform.picking.pipeline import plan_for, shoots_of
from teaplatform.picking.plan import ArmConfig
from teaplatform.picking.points import DEFAULT_FRACTION, LabelledShoots
from teaplatform.vision.artifacts import builtin_dir
from teaplatform.vision.data import (
    load_rgb,
    read_class_folders,
    read_yolo_dataset,
    split_classes,
    split_detection,
)
from teaplatform.vision.inference import detector_inputs
from teaplatform.vision.metrics import GroundTruth, classification_report, detection_report
from teaplatform.vision.runtime import OnnxClassifier, OnnxDetector

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))
EVAL_THRESHOLD = 0.05  # AP needs the whole curve; P/R are read at the serving threshold
FIGURE_THRESHOLD = 0.1  # the pictures show weaker detections too (served threshold: 0.25)


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(values) * 1000,
        "p90_ms": float(np.percentile(values, 90)) * 1000,
    }


def detection(detector: OnnxDetector, threads: int, repeats: int) -> dict[str, Any]:
    cfg = detector.card.config
    items = read_yolo_dataset(SHARED / cfg["data"], cfg["max_images"])
    split = split_detection(items, cfg["val_fraction"])
    assert split.digest == detector.card.split["digest"], "held-out split differs from training"
    images = [load_rgb(i.image) for i in split.val]
    preds = [detector.detect([im], EVAL_THRESHOLD)[0] for im in images]
    truth = [GroundTruth(i.boxes(), i.labels()) for i in split.val]
    report = detection_report(preds, truth, detector.classes, cfg["score_threshold"])

    net, end_to_end = [], []
    for _ in range(repeats):
        for im in images:
            batch, _ = detector_inputs([im], detector.card.input_size)
            t0 = time.perf_counter()
            detector.session.run(None, {"image": batch})
            net.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            shoots_of(im, detector.detect([im])[0], detector.classes)
            end_to_end.append(time.perf_counter() - t0)
    arm = ArmConfig()
    plans = [
        plan_for(im, shoots_of(im, detector.detect([im])[0], detector.classes), arm)
        for im in images
    ]
    return {
        "report": report,
        "split": {
            "train_images": len(split.train),
            "val_images": len(split.val),
            "train_photos": len({i.photo for i in split.train}),
            "val_photos": len(split.val_groups),
        },
        "latency_network": _ms(net),
        "latency_end_to_end": _ms(end_to_end),
        "threads": threads,
        "input_size": detector.card.input_size,
        "plan": {
            "images": len(plans),
            "mean_picks": statistics.mean(p.picks for p in plans),
            "mean_cycle_s": statistics.mean(p.cycle_s for p in plans),
            "mean_s_per_pick": sum(p.cycle_s for p in plans) / max(sum(p.picks for p in plans), 1),
        },
    }


def picking_points(detector: OnnxDetector) -> dict[str, Any]:
    cfg = detector.card.config
    items = read_yolo_dataset(SHARED / cfg["data"], cfg["max_images"])
    split = split_detection(items, cfg["val_fraction"])

    def collect(items: Any, use_pixels: bool) -> LabelledShoots:
        polys, boxes, imgs = [], [], []
        for item in items:
            image = load_rgb(item.image) if use_pixels else None
            for ann in item.annotations:
                polys.append(ann.polygon)
                boxes.append(ann.box)
                imgs.append(image)
        return LabelledShoots.build(polys, np.stack(boxes), imgs)

    out: dict[str, Any] = {}
    for name, use_pixels in (("box centre line", False), ("box + lean from pixels", True)):
        fraction = collect(split.train, use_pixels).fit_fraction()
        errors = collect(split.val, use_pixels).errors(fraction)
        out[name] = {"fraction": fraction, **errors.summary()}
    out["shipped_fraction"] = DEFAULT_FRACTION
    return out


def classification(classifier: OnnxClassifier) -> dict[str, Any]:
    cfg = classifier.card.config
    root = SHARED / cfg["data"]
    classes, items = read_class_folders(root, cfg["max_images"])
    split = split_classes(items, cfg["val_fraction"])
    assert split.digest == classifier.card.split["digest"], "held-out split differs from training"
    probs = classifier.probabilities([load_rgb(i.image) for i in split.val])
    y_true = np.array([i.label for i in split.val], np.int64)
    report = classification_report(y_true, probs.argmax(1).astype(np.int64), classes)
    batch = grade_folder(classifier, root, batch_size=32)
    return {
        "report": report,
        "split": {"train_images": len(split.train), "val_images": len(split.val)},
        "grading": {
            "images": len(batch.items),
            "seconds": batch.seconds,
            "images_per_second": batch.images_per_second,
        },
    }


def figures(detector: OnnxDetector, classifier: OnnxClassifier, out: Path) -> list[Path]:
    """Pictures from held-out data only: what the models see there, nothing trained on."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = detector.card.config
    split = split_detection(
        read_yolo_dataset(SHARED / cfg["data"], cfg["max_images"]), cfg["val_fraction"]
    )
    # one image per held-out photo, the three most labelled ones
    seen: dict[str, Any] = {}
    for item in split.val:
        seen.setdefault(item.photo, item)
    chosen = sorted(seen.values(), key=lambda i: -len(i.annotations))[:3]
    tiles = []
    for item in chosen:
        image = load_rgb(item.image)
        shoots = shoots_of(image, detector.detect([image], FIGURE_THRESHOLD)[0], detector.classes)
        tile = draw_picking(Image.fromarray(image), shoots, plan_for(image, shoots, ArmConfig()))
        pen = ImageDraw.Draw(tile)
        for box in item.boxes():  # the labelled shoots, thin white, to compare with
            pen.rectangle(box.tolist(), outline="#ffffff", width=1)
        tiles.append(tile)
    strip = Image.new("RGB", (sum(t.width for t in tiles), max(t.height for t in tiles)))
    x = 0
    for t in tiles:
        strip.paste(t, (x, 0))
        x += t.width
    paths = [out / "vision_picking.png"]
    strip.resize((strip.width // 2, strip.height // 2), Image.Resampling.LANCZOS).save(paths[0])

    ccfg = classifier.card.config
    classes, items = read_class_folders(SHARED / ccfg["data"], ccfg["max_images"])
    val = split_classes(items, ccfg["val_fraction"]).val
    picked = [next(i for i in val if i.label == c) for c in range(len(classes))]
    probs = classifier.probabilities([load_rgb(i.image) for i in picked])
    cell = 150
    grid = Image.new("RGB", (cell * 4, (cell + 34) * 2), "white")
    draw = ImageDraw.Draw(grid)
    for k, (item, p) in enumerate(zip(picked, probs, strict=True)):
        cx, cy = (k % 4) * cell, (k // 4) * (cell + 34)
        grid.paste(
            Image.open(item.image).convert("RGB").resize((cell - 10, cell - 10)), (cx + 5, cy + 5)
        )
        guess = classes[int(p.argmax())]
        colour = "#1a7f37" if guess == classes[item.label] else "#cf222e"
        draw.text((cx + 5, cy + cell - 3), f"true: {classes[item.label]}", fill="black")
        draw.text((cx + 5, cy + cell + 11), f"pred: {guess} {p.max():.2f}", fill=colour)
    paths.append(out / "vision_grading.png")
    grid.save(paths[1])
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--figures", type=Path, help="also draw the README pictures here")
    args = parser.parse_args()

    detector = OnnxDetector.load(builtin_dir("detector"), args.threads)
    classifier = OnnxClassifier.load(builtin_dir("classifier"), args.threads)
    det = detection(detector, args.threads, args.repeats)
    cls = classification(classifier)
    points = picking_points(detector)
    training = {
        kind: {
            k: card.training.get(k)
            for k in ("seconds", "cpu_seconds", "threads", "samples_per_second")
        }
        for kind, card in (("detector", detector.card), ("classifier", classifier.card))
    }
    result = {
        "detection": det,
        "classification": cls,
        "picking_points": points,
        "training": training,
    }
    if args.figures is not None:
        result["figures"] = [str(p) for p in figures(detector, classifier, args.figures)]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0

    rep, crep = det["report"], cls["report"]
    lean = points["box + lean from pixels"]
    table = Table(
        "figure", "goal", "measured", title="teaplatform vision (shipped models, onnxruntime)"
    )
    table.add_row(
        f"detection mAP@0.5, {det['split']['val_images']} held-out images ({det['split']['val_photos']} photos)",
        ">= 0.80 (TS-YOLO 82.1 % AP)",
        f"{rep['map50']:.3f}",
    )
    table.add_row("detection mAP@0.5:0.95", "report", f"{rep['map50_95']:.3f}")
    table.add_row(
        "shoot found at all (class-agnostic AP@0.5)", "report", f"{rep['ap50_any_class']:.3f}"
    )
    for name, c in rep["per_class"].items():
        table.add_row(
            f"  class {name}: AP50 / P / R @ {rep['score_threshold']}",
            "report",
            f"{c['ap50']:.3f} / {c['precision']:.3f} / {c['recall']:.3f} ({c['instances']} shoots)",
        )
    table.add_row(
        f"detector network, {det['input_size']} px input, {args.threads} threads (median / p90)",
        "<= 100 ms",
        f"{det['latency_network']['median_ms']:.1f} / {det['latency_network']['p90_ms']:.1f} ms",
    )
    table.add_row(
        "detect end to end: 640 px image -> shoots + picking points (median / p90)",
        "<= 100 ms",
        f"{det['latency_end_to_end']['median_ms']:.1f} / {det['latency_end_to_end']['p90_ms']:.1f} ms",
    )
    table.add_row(
        f"leaf classification accuracy, {cls['split']['val_images']} held-out images",
        ">= 95 % (XGBoost 80 %)",
        f"{crep['accuracy']:.1%}",
    )
    table.add_row(
        f"batch grading, {cls['grading']['images']} leaf images",
        "report",
        f"{cls['grading']['images_per_second']:.0f} images/s",
    )
    table.add_row(
        f"picking point error, {lean['shoots']} held-out shoots (median / p90)",
        "report",
        f"{lean['median_px']:.1f} / {lean['p90_px']:.1f} px = {lean['median_rel_diag']:.2f} / "
        f"{lean['p90_rel_diag']:.2f} of the box diagonal (centre line only: "
        f"{points['box centre line']['median_rel_diag']:.2f})",
    )
    table.add_row(
        "pick plan per held-out image (default arm)",
        "report",
        f"{det['plan']['mean_picks']:.1f} picks, cycle {det['plan']['mean_cycle_s']:.1f} s",
    )
    for kind, t in training.items():
        cpu = f", {t['cpu_seconds'] / 60:.1f} CPU-min" if t.get("cpu_seconds") else ""
        table.add_row(
            f"default {kind} training, {t['threads']} threads (wall{', CPU' if cpu else ''})",
            "<= 30 min",
            f"{t['seconds'] / 60:.1f} min{cpu}",
        )
    Console(width=160).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
