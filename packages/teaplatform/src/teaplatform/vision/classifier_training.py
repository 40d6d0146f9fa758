"""Train the leaf-condition classifier: stratified split, augment, fit, evaluate, export."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.nn import functional as F

from teaplatform.vision.augment import Uint8Image, classification_sample
from teaplatform.vision.config import ClassifierConfig
from teaplatform.vision.data import load_rgb, read_class_folders, split_classes
from teaplatform.vision.inference import classifier_inputs
from teaplatform.vision.metrics import classification_report
from teaplatform.vision.models import Classifier, ClassifierForExport
from teaplatform.vision.report import plot_confusion, plot_losses
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

OUTPUTS = ["probabilities"]
EVAL_BATCH = 64
MIXUP_ALPHA = 0.4  # Beta(a, a) blend weights: mostly near 0 or 1, sometimes even


def predict_torch(
    module: ClassifierForExport, images: Sequence[Uint8Image], size: int
) -> NDArray[np.float32]:
    """Class probabilities (N, C) through the serving pre-processing."""
    module.eval()
    out = []
    for start in range(0, len(images), EVAL_BATCH):
        batch = classifier_inputs(images[start : start + EVAL_BATCH], size)
        with torch.no_grad():
            out.append(module(torch.from_numpy(batch)).numpy())
    return np.concatenate(out)


def train_classifier(
    config: ClassifierConfig,
    data_root: Path,
    out_dir: Path,
    report_dir: Path | None = None,
    progress: Progress = no_progress,
) -> Finished:
    rng = seed_everything(config.seed, config.threads)
    classes, items = read_class_folders(data_root, config.max_images)
    split = split_classes(items, config.val_fraction)
    if not split.train or not split.val:
        raise ValueError(f"split of {len(items)} images left a side empty: adjust val_fraction")
    images = [load_rgb(i.image) for i in split.train]
    targets = torch.tensor([i.label for i in split.train])
    model = memory_format(Classifier(config, len(classes)), torch.channels_last)

    def loss_of_batch(index: NDArray[np.int64]) -> Tensor:
        batch = [
            classification_sample(images[i], config.image_size, config.hsv, rng) for i in index
        ]
        x, y = to_tensor(batch), targets[torch.from_numpy(index)]
        if rng.random() >= config.mixup:
            return F.cross_entropy(model(x).float(), y, label_smoothing=config.label_smoothing)
        # mixup (Zhang et al. 2018): train on blends of two images, the loss blended alike
        lam = float(rng.beta(MIXUP_ALPHA, MIXUP_ALPHA))
        perm = torch.from_numpy(rng.permutation(len(index)))
        logits = model(lam * x + (1 - lam) * x[perm]).float()
        return lam * F.cross_entropy(logits, y, label_smoothing=config.label_smoothing) + (
            1 - lam
        ) * F.cross_entropy(logits, y[perm], label_smoothing=config.label_smoothing)

    history = fit(
        model,
        config,
        num_samples=len(images),
        loss_of_batch=loss_of_batch,
        rng=rng,
        progress=progress,
    )
    export = ClassifierForExport(
        memory_format(model, torch.contiguous_format), flips=config.flip_average
    ).eval()
    val_images = [load_rgb(i.image) for i in split.val]
    probs = predict_torch(export, val_images, config.image_size)
    y_true = np.array([i.label for i in split.val], np.int64)
    metrics = classification_report(y_true, probs.argmax(1).astype(np.int64), classes)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        cm = np.array(metrics["confusion_matrix"], np.int64)
        plot_confusion(
            cm,
            classes,
            report_dir / "vision_classifier_confusion.png",
            f"Leaf condition, held-out images (accuracy {metrics['accuracy']:.1%})",
        )
        plot_losses(history.losses, report_dir / "vision_classifier_loss.png", "Leaf classifier")
    example = classifier_inputs(val_images[:4], config.image_size)
    return save_model(
        out_dir=out_dir,
        model=model,
        export_module=export,
        output_names=OUTPUTS,
        example=torch.from_numpy(example),
        config=config,
        classes=classes,
        split={
            "by": "file name hash, stratified by class",
            "val_fraction": config.val_fraction,
            "train_images": len(split.train),
            "val_images": len(split.val),
            "digest": split.digest,
        },
        metrics=metrics,
        history=history,
    )
