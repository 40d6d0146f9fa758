"""Plots for evaluation reports (matplotlib, no display): PR curves, confusion matrix, losses."""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from teaplatform.vision.centernet import Detections
from teaplatform.vision.metrics import GroundTruth, average_precision, pr_curve


def plot_pr_curves(
    preds: Sequence[Detections], truth: Sequence[GroundTruth], classes: Sequence[str], path: Path
) -> Path:
    """Precision-recall at IoU 0.5, one curve per class, AP in the legend."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    for label, name in enumerate(classes):
        curve = pr_curve(preds, truth, label, 0.5)
        if curve.num_gt:
            ap = average_precision(curve)
            ax.plot(curve.recall, curve.precision, label=f"class {name}: AP50 {ap:.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title("Shoot detection, held-out photos (IoU 0.5)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_confusion(cm: NDArray[np.int64], classes: Sequence[str], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.2, 5.4), dpi=110)
    ax.imshow(cm, cmap="Greens")
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, labels=list(classes), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(ticks, labels=list(classes), fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    high = cm.max() / 2 if cm.size else 0
    for (i, j), v in np.ndenumerate(cm):
        ax.text(
            j,
            i,
            str(v),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if v > high else "black",
        )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_losses(losses: Sequence[float], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=110)
    ax.plot(np.arange(1, len(losses) + 1), losses, marker=".")
    ax.set(xlabel="epoch", ylabel="training loss", title=title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
