"""Train the shoot detector: split by source photo, augment, fit, evaluate, export."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from teaplatform.vision.augment import detection_sample
from teaplatform.vision.centernet import Detections, encode
from teaplatform.vision.config import DetectorConfig
from teaplatform.vision.data import (
    DetectionItem,
    load_rgb,
    read_yolo_dataset,
    split_detection,
)
from teaplatform.vision.inference import DecodeParams, detector_inputs, detector_outputs
from teaplatform.vision.losses import focal_loss, giou_loss, regression_loss
from teaplatform.vision.metrics import GroundTruth, detection_report
from teaplatform.vision.models import Detector, DetectorForExport
from teaplatform.vision.report import plot_losses, plot_pr_curves
from teaplatform.vision.training import (
    Finished,
    Progress,
    fit,
    memory_format,
    no_progress,
    save_model,
    seed_everything,
    to_tensor,
)

OUTPUTS = ["heatmap", "regression"]
EVAL_BATCH = 8
# AP needs the whole precision-recall curve: evaluation keeps detections down to this score
# (precision and recall are still reported at the config's serving threshold)
EVAL_SCORE_THRESHOLD = 0.05


def decode_params(config: DetectorConfig, score_threshold: float | None = None) -> DecodeParams:
    threshold = config.score_threshold if score_threshold is None else score_threshold
    return DecodeParams(
        config.stride, threshold, config.nms_iou, config.max_detections, config.box_coding
    )


def predict_torch(
    module: DetectorForExport,
    items: Sequence[DetectionItem],
    config: DetectorConfig,
    score_threshold: float = EVAL_SCORE_THRESHOLD,
) -> list[Detections]:
    """Detections in each image's pixels, through the same pre/post-processing as serving."""
    out: list[Detections] = []
    module.eval()
    for start in range(0, len(items), EVAL_BATCH):
        images = [load_rgb(i.image) for i in items[start : start + EVAL_BATCH]]
        batch, boxes_in = detector_inputs(images, config.image_size)
        with torch.no_grad():
            heat, reg = module(torch.from_numpy(batch))
        params = decode_params(config, min(score_threshold, config.score_threshold))
        out += detector_outputs(heat.numpy(), reg.numpy(), boxes_in, params)
    return out


def train_detector(
    config: DetectorConfig,
    data_root: Path,
    out_dir: Path,
    report_dir: Path | None = None,
    progress: Progress = no_progress,
) -> Finished:
    """Train on the photos outside the held-out split; evaluate on the held-out ones."""
    rng = seed_everything(config.seed, config.threads)
    items = read_yolo_dataset(data_root, config.max_images)
    classes = list(config.classes)
    bad = {a.label for i in items for a in i.annotations if a.label >= len(classes)}
    if bad:
        raise ValueError(f"labels {sorted(bad)} outside the config's classes {classes}")
    split = split_detection(items, config.val_fraction)
    if not split.train or not split.val:
        raise ValueError(f"split of {len(items)} images left a side empty: adjust val_fraction")
    images = [load_rgb(i.image) for i in split.train]
    boxes = [i.boxes() for i in split.train]
    labels = [i.labels() for i in split.train]

    model = memory_format(Detector(config, len(classes)), torch.channels_last)

    def loss_of_batch(index: NDArray[np.int64]) -> Tensor:
        samples = [
            detection_sample(
                images,
                boxes,
                labels,
                int(i),
                size=config.image_size,
                scale_range=config.scale_range,
                mosaic=config.mosaic,
                do_flip=config.flip,
                hsv=config.hsv,
                rng=rng,
            )
            for i in index
        ]
        targets = [
            encode(b, lab, len(classes), config.image_size, config.stride, coding=config.box_coding)
            for _, b, lab in samples
        ]
        heat_t = torch.from_numpy(np.stack([t.heatmap for t in targets]))
        reg_t = torch.from_numpy(np.stack([t.regression for t in targets]))
        mask = torch.from_numpy(np.stack([t.mask for t in targets]))
        logits, reg = (out.float() for out in model(to_tensor([s[0] for s in samples])))
        if config.box_coding == "edges":
            box_loss = config.size_weight * giou_loss(reg, reg_t, mask)
        else:
            box_loss = regression_loss(reg, reg_t, mask, config.size_weight)
        return focal_loss(logits, heat_t) + box_loss

    history = fit(
        model,
        config,
        num_samples=len(images),
        loss_of_batch=loss_of_batch,
        rng=rng,
        progress=progress,
    )
    export = DetectorForExport(memory_format(model, torch.contiguous_format)).eval()
    preds = predict_torch(export, split.val, config)
    truth = [GroundTruth(i.boxes(), i.labels()) for i in split.val]
    metrics = detection_report(preds, truth, classes, config.score_threshold)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        plot_pr_curves(preds, truth, classes, report_dir / "vision_detector_pr.png")
        plot_losses(history.losses, report_dir / "vision_detector_loss.png", "Shoot detector")
    example, _ = detector_inputs([load_rgb(i.image) for i in split.val[:2]], config.image_size)
    return save_model(
        out_dir=out_dir,
        model=model,
        export_module=export,
        output_names=OUTPUTS,
        example=torch.from_numpy(example),
        config=config,
        classes=classes,
        split={
            "by": "source photo (file name before _jpg.rf., less the tile window)",
            "val_fraction": config.val_fraction,
            "train_images": len(split.train),
            "val_images": len(split.val),
            "train_photos": len({i.photo for i in split.train}),
            "val_photos": len(split.val_groups),
            "digest": split.digest,
        },
        metrics=metrics,
        history=history,
        stride=config.stride,
    )
